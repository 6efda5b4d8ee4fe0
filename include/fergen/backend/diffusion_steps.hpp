// fergen/backend/diffusion_steps.hpp: the tensor arithmetic of diffusion: noising, targets, reverse steps.
#pragma once

#include <fergen/backend/backend.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/rng.hpp>

#include <cstdint>
#include <span>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// One reverse (denoising) step as straight-line arithmetic, so that a whole sampling loop runs where the
// tensors live: the schedule, the parameterisation and the sampler are host-side double-precision
// algebra that reduces each step to these six numbers, shared by every sample of the batch:
//   x0 = x0_from_xt * x_t + x0_from_output * output       (the parameterisation: eps, x0 or v)
//   x0 = clamp(x0, clip_min, clip_max)                     (only when clip)
//   x_prev = prev_from_x0 * x0 + prev_from_xt * x_t + sigma * z,  z ~ N(0, I)   (the sampler)
// sigma is a standard deviation; the variance it comes from is kept as a variance until this point.
struct reverse_step_coefficients {
  double x0_from_xt = 0;
  double x0_from_output = 0;
  bool clip = false;
  double clip_min = -1;
  double clip_max = 1;
  double prev_from_x0 = 0;
  double prev_from_xt = 0;
  double sigma = 0;
};

// A coefficient list is one value per sample, or a single value for the whole batch.
inline void check_per_sample(std::span<const double> values, std::int64_t n, const char* what, const char* name) {
  require(values.size() == 1 || static_cast<std::int64_t>(values.size()) == n, what, ": ", values.size(), " ",
          name, " coefficients for a batch of ", n, " (give one per sample, or one for all)");
}

// diffusion_steps<Backend> provides (element i of sample n; streams hold one random_stream per sample):
//   combine(ctx, x, a, y, b) -> a[n] x + b[n] y          q_sample, training targets, guidance, conversions
//   normal(ctx, shape, streams, offset) -> z              z[n, i] = streams[n].normal(offset + i)
//   reverse_step(ctx, x_t, output, coefficients, streams, offset) -> x_prev   with z as normal() draws it
// The noise of a sample depends only on its stream and the offset, never on the batch it is computed in or
// on the device, so an image generated alone, in a batch, sharded or on the GPU gets the same noise.
template <class Backend>
struct diffusion_steps {
  static_assert(always_false<Backend>,
                "diffusion_steps: no kernel for this backend; CUDA needs nvcc and FERGEN_WITH_CUDA");
};

}  // namespace ops
FERGEN_END_NAMESPACE
