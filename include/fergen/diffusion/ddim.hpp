// fergen/diffusion/ddim.hpp: the DDIM sampler's reverse step (Song et al. 2021, eq. 12).
#pragma once

#include <fergen/backend/diffusion_steps.hpp>
#include <fergen/core/error.hpp>
#include <fergen/diffusion/noise_schedule.hpp>
#include <fergen/diffusion/parameterization.hpp>
#include <fergen/diffusion/predicted_x0.hpp>
#include <fergen/diffusion/reverse_step_run.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

// x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev - sigma^2) eps + sigma z, with
//   sigma^2 = eta^2 beta_tilde(t, prev)     (eta = 0: deterministic; eta = 1: DDPM's posterior variance)
// and eps recomputed from the (clipped) x0, so that x0 and eps stay consistent with x_t. Any timestep
// sequence works; prev is the next entry of the sequence, never t - T / steps.
struct ddim_sampler {
  double eta = 0.0;

  template <class B>
  using run = reverse_step_run<B, ddim_sampler>;

  void validate() const { require(std::isfinite(eta) && eta >= 0, "ddim: eta = ", eta, " must be a finite value >= 0"); }
  std::string describe() const { return str("eta ", eta); }

  // The variance of the added noise between t and prev.
  double variance(const noise_schedule& s, std::int64_t t, std::int64_t prev) const {
    return eta * eta * s.between(t, prev).variance;
  }

  ops::reverse_step_coefficients step(const noise_schedule& s, std::int64_t t, std::int64_t prev, prediction_type p,
                                      const sample_clip& clip = {}) const {
    validate();
    ops::reverse_step_coefficients c = detail::x0_stage(s, t, p, clip);
    const double a_t = s.alpha_bar(t), a_prev = s.alpha_bar(prev);
    const double var = variance(s, t, prev);
    // eta > 1 can ask for more noise than 1 - abar_prev allows; the direction term then vanishes.
    const double direction = std::sqrt(std::max(0.0, 1 - a_prev - var));
    // eps = (x_t - sqrt(a_t) x0) / sqrt(1 - a_t), folded into the coefficients of x0 and x_t.
    const double s_t = std::sqrt(1 - a_t);
    c.prev_from_x0 = std::sqrt(a_prev) - direction * std::sqrt(a_t) / s_t;
    c.prev_from_xt = direction / s_t;
    c.sigma = std::sqrt(var);
    return c;
  }
};

}  // namespace diffusion
FERGEN_END_NAMESPACE
