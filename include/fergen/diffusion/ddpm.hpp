// fergen/diffusion/ddpm.hpp: the DDPM ancestral sampler's reverse step (Ho et al. 2020, algorithm 2).
#pragma once

#include <fergen/backend/diffusion_steps.hpp>
#include <fergen/diffusion/noise_schedule.hpp>
#include <fergen/diffusion/parameterization.hpp>
#include <fergen/diffusion/predicted_x0.hpp>
#include <fergen/diffusion/reverse_step_run.hpp>

#include <cmath>
#include <cstdint>
#include <string>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

// x_prev ~ q(x_prev | x_t, x0 = predicted x0) = N(coef_x0 x0 + coef_xt x_t, variance): the posterior mean,
// plus noise of the chosen variance type (none on the last step, to the data). prev is the next entry of
// the timestep sequence (every step from T - 1 to 0 in the paper; any subsequence works).
struct ddpm_sampler {
  variance_type variance = variance_type::fixed_small;

  template <class B>
  using run = reverse_step_run<B, ddpm_sampler>;

  std::string describe() const { return std::string(name_of(variance)); }

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
