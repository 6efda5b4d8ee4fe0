// fergen/backend/cuda/kernels/dropout.cuh: the dropout mask from the counter-based stream, four elements per
// Philox block, exactly as random_stream::uniform(i) draws them on the CPU.
#pragma once

#include <fergen/backend/cuda/kernels/launch.cuh>
#include <fergen/core/rng.hpp>

#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_kernels {

// Index b covers elements 4b .. 4b + 3: element i is kept when uniform(i) >= threshold, and mask[i] is the
// factor applied (keep_scale or 0).
struct dropout_forward {
  const float* x;
  float* y;
  float* mask;
  std::int64_t n;
  random_stream stream;
  float threshold;
  float keep_scale;
  __device__ void operator()(std::int64_t b) const {
    const philox_block words = stream.block(static_cast<std::uint64_t>(b));
    for (int k = 0; k < 4; ++k) {
      const std::int64_t i = 4 * b + k;
      if (i >= n) return;
      const float m = random_stream::uniform_of(words.v[k]) >= threshold ? keep_scale : 0.0f;
      mask[i] = m;
      y[i] = x[i] * m;
    }
  }
};

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
