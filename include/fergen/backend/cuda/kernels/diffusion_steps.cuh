// fergen/backend/cuda/kernels/diffusion_steps.cuh: the tensor arithmetic of diffusion on the GPU: per-sample
// linear combinations (noising, targets, guidance), Gaussian noise from each sample's counter-based stream, and
// the reverse step reduced to six numbers (backend/diffusion_steps.hpp).
#pragma once

#include <fergen/backend/cuda/kernels/launch.cuh>
#include <fergen/backend/diffusion_steps.hpp>
#include <fergen/core/rng.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_kernels {

// out = a[n] x + b[n] y. per_sample: the (a, b) pairs of each sample, as floats (the CPU casts each coefficient
// to float before the arithmetic); null when both are one value for the whole batch, then a and b hold it.
struct diffusion_combine {
  const float* x;
  const float* y;
  float* out;
  const float* per_sample;
  float a, b;
  std::int64_t per;  // elements per sample
  FERGEN_HD void operator()(std::int64_t i) const {
    float ca = a, cb = b;
    if (per_sample) {
      const std::int64_t n = i / per;
      ca = per_sample[2 * n];
      cb = per_sample[2 * n + 1];
    }
    out[i] = ca * x[i] + cb * y[i];
  }
};

// z[n, k] = streams[n].normal(offset + k): the CPU's draw element for element (Philox is FERGEN_HD; the
// Box-Muller transform in double agrees to the rounding of the device's math library before the cast).
struct diffusion_normal {
  float* z;
  const random_stream* streams;
  std::int64_t per;
  std::uint64_t offset;
  FERGEN_HD void operator()(std::int64_t i) const {
    const std::int64_t n = i / per, k = i % per;
    z[i] = static_cast<float>(streams[n].normal(offset + static_cast<std::uint64_t>(k)));
  }
};

// The reverse step with the CPU's float coefficients and order: x0 from (x_t, output), the clamp (written as
// std::clamp compares, so a NaN stays NaN), x_prev = p x0 + q x_t, then + sigma z with z as diffusion_normal
// draws it (streams null when sigma is 0).
struct diffusion_reverse_step {
  const float* x_t;
  const float* output;
  float* out;
  const random_stream* streams;
  std::int64_t per;
  std::uint64_t offset;
  float a, b, lo, hi, p, q, sigma;
  bool clip;
  FERGEN_HD void operator()(std::int64_t i) const {
    const float x = x_t[i];
    float x0 = a * x + b * output[i];
    if (clip) x0 = x0 < lo ? lo : (hi < x0 ? hi : x0);
    float y = p * x0 + q * x;
    if (streams) {
      const std::int64_t n = i / per, k = i % per;
      y += sigma * static_cast<float>(streams[n].normal(offset + static_cast<std::uint64_t>(k)));
    }
    out[i] = y;
  }
};

// The three operations over an engine (kernels/engine.cuh), for n samples of `per` elements. Coefficient lists
// and streams are host values, checked by the caller (one per sample, or one for all).
template <class Engine>
void diffusion_combine_forward(Engine& e, const float* x, std::span<const double> a, const float* y,
                               std::span<const double> b, std::int64_t n, std::int64_t per, float* out) {
  if (n * per == 0) return;
  if (a.size() == 1 && b.size() == 1) {
    e.for_each(n * per, diffusion_combine{x, y, out, nullptr, static_cast<float>(a[0]), static_cast<float>(b[0]), per},
               "diffusion combine");
    return;
  }
  std::vector<float> pairs(static_cast<std::size_t>(2 * n));
  for (std::int64_t k = 0; k < n; ++k) {
    pairs[static_cast<std::size_t>(2 * k)] = static_cast<float>(a[a.size() == 1 ? 0 : static_cast<std::size_t>(k)]);
    pairs[static_cast<std::size_t>(2 * k + 1)] = static_cast<float>(b[b.size() == 1 ? 0 : static_cast<std::size_t>(k)]);
  }
  const std::size_t bytes = pairs.size() * sizeof(float);
  const auto device_pairs = e.allocate(bytes, "diffusion combine coefficients");
  e.upload(device_pairs.get(), pairs.data(), bytes);
  e.for_each(n * per, diffusion_combine{x, y, out, static_cast<const float*>(device_pairs.get()), 0.0f, 0.0f, per},
             "diffusion combine");
}

template <class Engine>
void diffusion_normal_forward(Engine& e, std::span<const random_stream> streams, std::int64_t per,
                              std::uint64_t offset, float* z) {
  const auto n = static_cast<std::int64_t>(streams.size());
  if (n * per == 0) return;
  const auto device_streams = e.allocate(streams.size_bytes(), "diffusion noise streams");
  e.upload(device_streams.get(), streams.data(), streams.size_bytes());
  e.for_each(n * per, diffusion_normal{z, static_cast<const random_stream*>(device_streams.get()), per, offset},
             "diffusion normal");
}

template <class Engine>
void diffusion_reverse_step_forward(Engine& e, const float* x_t, const float* output, std::int64_t n,
                                    std::int64_t per, const reverse_step_coefficients& c,
                                    std::span<const random_stream> streams, std::uint64_t offset, float* out) {
  if (n * per == 0) return;
  const bool noise = c.sigma != 0;
  const std::size_t bytes = noise ? streams.size_bytes() : 0;
  const auto device_streams = e.allocate(bytes, "diffusion noise streams");
  e.upload(device_streams.get(), streams.data(), bytes);
  e.for_each(n * per,
             diffusion_reverse_step{x_t, output, out,
                                    noise ? static_cast<const random_stream*>(device_streams.get()) : nullptr, per,
                                    offset, static_cast<float>(c.x0_from_xt), static_cast<float>(c.x0_from_output),
                                    static_cast<float>(c.clip_min), static_cast<float>(c.clip_max),
                                    static_cast<float>(c.prev_from_x0), static_cast<float>(c.prev_from_xt),
                                    static_cast<float>(c.sigma), c.clip},
             "diffusion reverse_step");
}

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
