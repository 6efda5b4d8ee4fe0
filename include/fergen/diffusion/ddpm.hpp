// fergen/diffusion/ddpm.hpp: the DDPM ancestral sampler's reverse step (Ho et al. 2020, algorithm 2).
#pragma once

#include <fergen/backend/diffusion_steps.hpp>
#include <fergen/diffusion/noise_schedule.hpp>
#include <fergen/diffusion/parameterization.hpp>

#include <cmath>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

// Predicted x0 clipped to [-range, range] before it is used (the data lie in [-1, 1]); diffusers' clip_sample.
struct sample_clip {
  bool enabled = true;
  double range = 1.0;
};

namespace detail {
// The first half of every reverse step: x0 as predicted (and clipped) from x_t and the network output.
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

// x_prev ~ q(x_prev | x_t, x0 = predicted x0) = N(coef_x0 x0 + coef_xt x_t, variance): the posterior mean,
// plus noise of the chosen variance type (none on the last step, to the data). prev is the next entry of
// the timestep sequence (every step from T - 1 to 0 in the paper; any subsequence works).
struct ddpm_sampler {
  variance_type variance = variance_type::fixed_small;

  ops::reverse_step_coefficients step(const noise_schedule& s, std::int64_t t, std::int64_t prev, prediction_type p,
                                      const sample_clip& clip = {}) const {
    ops::reverse_step_coefficients c = detail::x0_stage(s, t, p, clip);
    const posterior q = s.between(t, prev);
    c.prev_from_x0 = q.coef_x0;
    c.prev_from_xt = q.coef_xt;
    c.sigma = prev < 0 ? 0.0 : std::sqrt(variance == variance_type::fixed_small ? q.variance : q.beta);
    return c;
  }
};

}  // namespace diffusion
FERGEN_END_NAMESPACE
