// fergen/diffusion/noise_schedule.hpp: the forward process a beta schedule defines: abar, q_sample, the
// posterior q(x_prev | x_t, x0) between any two timesteps, SNR.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/diffusion_steps.hpp>
#include <fergen/backend/diffusion_steps.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/tensor.hpp>
#include <fergen/diffusion/beta_schedule.hpp>
#include <fergen/diffusion/names.hpp>

#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

// The variance of the reverse step's noise (Ho et al. 2020, sec. 3.2): fixed_small is the posterior's own
// variance beta_tilde (the best choice when x0 is deterministic), fixed_large is beta (the best when x0 ~
// N(0, I)). Both are variances: fergen keeps every noise level as a variance and takes the square root only
// where noise is drawn.
enum class variance_type { fixed_small, fixed_large };

inline constexpr std::pair<std::string_view, variance_type> variance_type_names[] = {
    {"fixed_small", variance_type::fixed_small}, {"fixed_large", variance_type::fixed_large},
    {"fixed-small", variance_type::fixed_small}, {"fixed-large", variance_type::fixed_large}};
inline variance_type variance_type_from_name(std::string_view name) {
  return detail::from_name("variance type", name, variance_type_names);
}
inline std::string_view name_of(variance_type v) { return detail::to_name(v, variance_type_names); }

// q(x_prev | x_t, x0) = N(coef_x0 x0 + coef_xt x_t, variance I), between timestep t and any earlier prev
// (prev = -1: the data itself). With prev = t - 1 this is DDPM's posterior; with a sparser sequence,
// the same formulas with alpha = abar_t / abar_prev, which is how DDPM samples with fewer steps.
struct posterior {
  double coef_x0 = 0;
  double coef_xt = 0;
  double variance = 0;  // beta_tilde
  double beta = 0;      // 1 - abar_t / abar_prev: the fixed_large variance
};

// All quantities of the forward process, computed once in double from the betas:
//   alpha_t = 1 - beta_t,  abar_t = prod_{s <= t} alpha_s,  x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps
// Timesteps index 0 .. T - 1; abar(-1) = 1 (the clean data), so the last reverse step lands on x0.
class noise_schedule {
 public:
  explicit noise_schedule(const beta_schedule& s) : noise_schedule(s.betas()) {}

  explicit noise_schedule(std::vector<double> betas) : betas_(std::move(betas)) {
    require(!betas_.empty(), "noise_schedule: no betas (T = 0)");
    alpha_bar_.resize(betas_.size());
    double product = 1;
    for (std::size_t t = 0; t < betas_.size(); ++t) {
      require(std::isfinite(betas_[t]) && betas_[t] > 0 && betas_[t] < 1, "noise_schedule: beta[", t, "] = ", betas_[t],
              " is outside (0, 1)");
      product *= 1 - betas_[t];
      alpha_bar_[t] = product;
    }
  }

  std::int64_t timesteps() const { return static_cast<std::int64_t>(betas_.size()); }
  const std::vector<double>& betas() const { return betas_; }
  const std::vector<double>& alpha_bars() const { return alpha_bar_; }

  double beta(std::int64_t t) const { return betas_[index(t, "beta")]; }
  double alpha(std::int64_t t) const { return 1 - beta(t); }
  // abar_t; abar(-1) = 1.
  double alpha_bar(std::int64_t t) const { return t == -1 ? 1.0 : alpha_bar_[index(t, "alpha_bar")]; }
  double sqrt_alpha_bar(std::int64_t t) const { return std::sqrt(alpha_bar(t)); }
  double sqrt_one_minus_alpha_bar(std::int64_t t) const { return std::sqrt(1 - alpha_bar(t)); }
  // Signal-to-noise ratio abar / (1 - abar) (Kingma et al. 2021); infinite at t = -1.
  double snr(std::int64_t t) const { return alpha_bar(t) / (1 - alpha_bar(t)); }

  // The posterior between t and an earlier prev (-1 <= prev < t).
  posterior between(std::int64_t t, std::int64_t prev) const {
    require(prev >= -1 && prev < t, "noise_schedule: previous timestep ", prev, " is not before timestep ", t);
    const double a_t = alpha_bar(t), a_prev = alpha_bar(prev);
    const double alpha = a_t / a_prev, beta_step = 1 - alpha;
    posterior p;
    p.beta = beta_step;
    p.variance = (1 - a_prev) / (1 - a_t) * beta_step;
    p.coef_x0 = std::sqrt(a_prev) * beta_step / (1 - a_t);
    p.coef_xt = std::sqrt(alpha) * (1 - a_prev) / (1 - a_t);
    return p;
  }

  // The variance of the reverse step t -> prev under a variance type (diffusers' _get_variance for
  // fixed_small: 0.00979 at t = 487 and 0.02 at t = 999 on DDPM's linear schedule).
  double variance(std::int64_t t, std::int64_t prev, variance_type type) const {
    const posterior p = between(t, prev);
    return type == variance_type::fixed_small ? p.variance : p.beta;
  }
  double variance(std::int64_t t, variance_type type = variance_type::fixed_small) const {
    return variance(t, t - 1, type);
  }

  // x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise, each sample at its own timestep.
  template <class B>
  tensor<B> q_sample(context<B>& ctx, const tensor<B>& x0, const tensor<B>& noise,
                     std::span<const std::int64_t> timesteps) const {
    std::vector<double> a(timesteps.size()), b(timesteps.size());
    for (std::size_t n = 0; n < timesteps.size(); ++n) {
      a[n] = sqrt_alpha_bar(timesteps[n]);
      b[n] = sqrt_one_minus_alpha_bar(timesteps[n]);
    }
    return ops::diffusion_steps<B>::combine(ctx, x0, a, noise, b);
  }

 private:
  std::size_t index(std::int64_t t, const char* what) const {
    require(t >= 0 && t < timesteps(), "noise_schedule: ", what, " at timestep ", t, " is outside [0, ", timesteps(),
            ")");
    return static_cast<std::size_t>(t);
  }

  std::vector<double> betas_;
  std::vector<double> alpha_bar_;
};

}  // namespace diffusion
FERGEN_END_NAMESPACE
