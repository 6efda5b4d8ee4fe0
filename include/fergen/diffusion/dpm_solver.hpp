// fergen/diffusion/dpm_solver.hpp: DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", algorithm 2), the multistep
// second-order solver of the probability-flow ODE in data prediction, as diffusers' DPMSolverMultistepScheduler
// computes it with algorithm_type "dpmsolver++", solver_order 2, solver_type "midpoint", lower_order_final and its
// default final_sigmas_type "zero".
#pragma once

#include <fergen/backend/cpu/diffusion_steps.hpp>
#include <fergen/backend/diffusion_steps.hpp>
#include <fergen/core/tensor.hpp>
#include <fergen/diffusion/noise_schedule.hpp>
#include <fergen/diffusion/predicted_x0.hpp>
#include <fergen/diffusion/sampler_run.hpp>
#include <fergen/diffusion/timesteps.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

// On the discrete schedule, with alpha = sqrt(abar), sigma = sqrt(1 - abar) and lambda = log(alpha) - log(sigma),
// a step from timestep s (the current one) to the next timestep t of the sequence, h = lambda_t - lambda_s, is
//   first order (DDIM):  x_t = (sigma_t / sigma_s) x_s + alpha_t (1 - e^-h) m0
//   second order:        x_t = (sigma_t / sigma_s) x_s + alpha_t (1 - e^-h) (m0 + (m0 - m1) / (2 r)),
// where m0 is the (clipped) x0 predicted at s, m1 the one predicted at the step before, and r = h_prev / h the
// ratio of the previous step's length in lambda to this one's. The first step has no m1 and is first order.
// The last step goes to the clean image (fergen's timestep -1: abar = 1, sigma = 0), where lambda is infinite and
// the first-order update is m0 itself; diffusers' final_sigmas_type "zero" ends there and takes that step at first
// order for any number of steps, so lower_order_final's "< 15 steps" changes nothing at order 2.
// Deterministic: no noise is drawn. One network evaluation per step (two with guidance).
// Clipping clamps m0 to [-range, range]; with range 1 this is diffusers' thresholding with sample_max_value 1
// (its percentile s is clamped to [1, 1]).
// The timesteps are fergen's (timesteps.hpp): with trailing spacing, diffusers' scheduler visits the same ones;
// its linspace and leading spread steps + 1 points and drop the last, which fergen's spacings do not.
struct dpmpp2m_sampler {
  template <class B>
  class run {
   public:
    run(const dpmpp2m_sampler&, const sampling_setup<B>& setup) : setup_(setup) {}

    tensor<B> step(std::size_t i, const tensor<B>& x, const denoise_fn<B>& denoise) {
      using steps_op = ops::diffusion_steps<B>;
      const noise_schedule& s = setup_.schedule;
      const std::int64_t now = setup_.timesteps[i];
      const std::int64_t next = previous_timestep(setup_.timesteps, i);
      // m0 = clip(x0): reverse_step with x_prev = x0 exactly (diffusers' convert_model_output).
      ops::reverse_step_coefficients to_x0 = detail::x0_stage(s, now, setup_.prediction, setup_.clip);
      to_x0.prev_from_x0 = 1;
      tensor<B> m0 = steps_op::reverse_step(setup_.ctx, x, denoise(x, now), to_x0, {}, 0);
      const double lambda_now = lambda(s, now);
      tensor<B> out = m0;
      if (next >= 0) {
        const double h = lambda(s, next) - lambda_now;
        const double keep = s.sqrt_one_minus_alpha_bar(next) / s.sqrt_one_minus_alpha_bar(now);
        const double gain = -s.sqrt_alpha_bar(next) * std::expm1(-h);  // alpha_t (1 - e^-h)
        if (!previous_) {
          const double a[1] = {keep}, b[1] = {gain};
          out = steps_op::combine(setup_.ctx, x, a, m0, b);
        } else {
          const double half_over_r = 0.5 * h / (lambda_now - previous_->lambda);
          const double a[1] = {keep}, b[1] = {gain * (1 + half_over_r)}, one[1] = {1}, c[1] = {-gain * half_over_r};
          out = steps_op::combine(setup_.ctx, steps_op::combine(setup_.ctx, x, a, m0, b), one, previous_->x0, c);
        }
      }
      previous_ = earlier{std::move(m0), lambda_now};
      return out;
    }

   private:
    // lambda_t = log(alpha_t) - log(sigma_t): half the log signal-to-noise ratio.
    static double lambda(const noise_schedule& s, std::int64_t t) {
      return std::log(s.sqrt_alpha_bar(t)) - std::log(s.sqrt_one_minus_alpha_bar(t));
    }

    struct earlier {
      tensor<B> x0;
      double lambda;
    };

    sampling_setup<B> setup_;
    std::optional<earlier> previous_;
  };
};

}  // namespace diffusion
FERGEN_END_NAMESPACE
