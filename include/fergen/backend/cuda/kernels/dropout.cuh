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
  FERGEN_HD void operator()(std::int64_t b) const {
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


// As the CPU: p = 1 drops everything (PyTorch returns zeros), and the factor is never infinite.
inline dropout_forward make_dropout_forward(const float* x, float* y, float* mask, std::int64_t n, double p,
                                            const random_stream& stream) {
  return {x, y, mask, n, stream, static_cast<float>(p), p < 1.0 ? static_cast<float>(1.0 / (1.0 - p)) : 0.0f};
}

// Launched over this many indices, one Philox block (four elements) each.
constexpr std::int64_t dropout_blocks(std::int64_t n) { return (n + 3) / 4; }

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
