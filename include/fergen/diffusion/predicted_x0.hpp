// fergen/diffusion/predicted_x0.hpp: the first half of every sampler's step: the clean image x0 as the network's
// output predicts it from x_t, clipped to the data's range.
#pragma once

#include <fergen/backend/diffusion_steps.hpp>
#include <fergen/diffusion/noise_schedule.hpp>
#include <fergen/diffusion/parameterization.hpp>

#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

// Predicted x0 clipped to [-range, range] before it is used (the data lie in [-1, 1]); diffusers' clip_sample.
struct sample_clip {
  bool enabled = true;
  double range = 1.0;
};

namespace detail {
// x0 as predicted (and clipped) from x_t and the network output: the x0 half of ops::reverse_step_coefficients.
inline ops::reverse_step_coefficients x0_stage(const noise_schedule& s, std::int64_t t, prediction_type p,
                                               const sample_clip& clip) {
  const linear_form x0 = x0_from(p, s.alpha_bar(t));
  ops::reverse_step_coefficients c;
  c.x0_from_xt = x0.from_xt;
  c.x0_from_output = x0.from_output;
  c.clip = clip.enabled;
  c.clip_min = -clip.range;
  c.clip_max = clip.range;
  return c;
}
}  // namespace detail

}  // namespace diffusion
FERGEN_END_NAMESPACE
