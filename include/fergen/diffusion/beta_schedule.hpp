// fergen/diffusion/beta_schedule.hpp: the noise added at each forward step, beta_1 .. beta_T.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/diffusion/names.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

enum class beta_schedule_kind { linear, scaled_linear, cosine, sigmoid, custom };

inline constexpr std::pair<std::string_view, beta_schedule_kind> beta_schedule_names[] = {
    {"linear", beta_schedule_kind::linear},    {"scaled_linear", beta_schedule_kind::scaled_linear},
    {"cosine", beta_schedule_kind::cosine},    {"sigmoid", beta_schedule_kind::sigmoid},
    {"custom", beta_schedule_kind::custom},    {"scaled-linear", beta_schedule_kind::scaled_linear},
    {"squaredcos_cap_v2", beta_schedule_kind::cosine}};

inline beta_schedule_kind beta_schedule_from_name(std::string_view name) {
  return detail::from_name("beta schedule", name, beta_schedule_names);
}
inline std::string_view name_of(beta_schedule_kind k) { return detail::to_name(k, beta_schedule_names); }

// A beta schedule by name and parameters, as diffusers' schedulers take them (beta_schedule, beta_start,
// beta_end, trained_betas), computed in double:
//   linear          beta_t = beta_start + (beta_end - beta_start) t / (T - 1)      (DDPM: 1e-4 .. 0.02, T = 1000)
//   scaled_linear   beta_t = (sqrt(beta_start) + (sqrt(beta_end) - sqrt(beta_start)) t / (T - 1))^2
//   cosine          Nichol & Dhariwal: abar(s) = cos((s + 0.008) / 1.008 * pi / 2)^2 at s = t / T, and
//                   beta_t = min(1 - abar((t + 1) / T) / abar(t / T), 0.999)
//   sigmoid         beta_t = beta_start + (beta_end - beta_start) sigmoid(-6 + 12 t / (T - 1))
//   custom          the given betas (T is their count)
// for t = 0 .. T - 1 (the paper's t = 1 .. T).
struct beta_schedule {
  beta_schedule_kind kind = beta_schedule_kind::linear;
  std::int64_t timesteps = 1000;
  double beta_start = 1e-4;
  double beta_end = 0.02;
  double cosine_offset = 0.008;  // Nichol & Dhariwal's s
  double max_beta = 0.999;       // the cosine schedule's clip, which keeps beta_T below 1
  std::vector<double> given{};   // custom

  std::int64_t count() const { return kind == beta_schedule_kind::custom ? static_cast<std::int64_t>(given.size()) : timesteps; }

  void validate() const {
    if (kind == beta_schedule_kind::custom) {
      require(!given.empty(), "beta schedule 'custom': no betas given (T = 0)");
      for (std::size_t i = 0; i < given.size(); ++i)
        require(std::isfinite(given[i]) && given[i] > 0 && given[i] < 1, "beta schedule 'custom': beta[", i, "] = ",
                given[i], " is outside (0, 1)");
      return;
    }
    require(timesteps >= 1, "beta schedule '", name_of(kind), "': T = ", timesteps, " diffusion steps; give at least 1");
    require(timesteps <= 1000000, "beta schedule '", name_of(kind), "': T = ", timesteps, " is above 1000000");
    if (kind == beta_schedule_kind::cosine) {
      require(std::isfinite(cosine_offset) && cosine_offset > 0, "beta schedule 'cosine': offset s = ", cosine_offset,
              " must be positive");
      require(max_beta > 0 && max_beta < 1, "beta schedule 'cosine': max_beta = ", max_beta, " is outside (0, 1)");
      return;
    }
    require(std::isfinite(beta_start) && std::isfinite(beta_end) && beta_start > 0 && beta_end < 1 &&
                beta_start <= beta_end,
            "beta schedule '", name_of(kind), "': beta_start = ", beta_start, " and beta_end = ", beta_end,
            " must satisfy 0 < beta_start <= beta_end < 1");
  }

  // beta_0 .. beta_{T-1}.
  std::vector<double> betas() const {
    validate();
    if (kind == beta_schedule_kind::custom) return given;
    const auto n = static_cast<std::size_t>(timesteps);
    std::vector<double> b(n);
    // Position t / (T - 1) along the range; a single step sits at the start, as numpy's linspace(a, b, 1).
    auto fraction = [&](std::size_t t) { return n > 1 ? static_cast<double>(t) / static_cast<double>(n - 1) : 0.0; };
    switch (kind) {
      case beta_schedule_kind::linear:
        for (std::size_t t = 0; t < n; ++t) b[t] = beta_start + (beta_end - beta_start) * fraction(t);
        break;
      case beta_schedule_kind::scaled_linear: {
        const double lo = std::sqrt(beta_start), hi = std::sqrt(beta_end);
        for (std::size_t t = 0; t < n; ++t) b[t] = std::pow(lo + (hi - lo) * fraction(t), 2);
        break;
      }
      case beta_schedule_kind::sigmoid:
        for (std::size_t t = 0; t < n; ++t)
          b[t] = beta_start + (beta_end - beta_start) / (1 + std::exp(-(-6.0 + 12.0 * fraction(t))));
        break;
      case beta_schedule_kind::cosine:
        for (std::size_t t = 0; t < n; ++t)
          b[t] = std::min(1 - cosine_alpha_bar(static_cast<double>(t + 1) / static_cast<double>(n)) /
                                  cosine_alpha_bar(static_cast<double>(t) / static_cast<double>(n)),
                          max_beta);
        break;
      case beta_schedule_kind::custom: break;
    }
    return b;
  }

  // Nichol & Dhariwal's abar at s in [0, 1] (before the clip of beta): cos((s + offset) / (1 + offset) * pi/2)^2.
  double cosine_alpha_bar(double s) const {
    const double c = std::cos((s + cosine_offset) / (1 + cosine_offset) * std::numbers::pi / 2);
    return c * c;
  }

  std::string describe() const {
    if (kind == beta_schedule_kind::custom) return str("custom, T = ", given.size());
    if (kind == beta_schedule_kind::cosine) return str("cosine, T = ", timesteps);
    return str(name_of(kind), " ", beta_start, " .. ", beta_end, ", T = ", timesteps);
  }
};

}  // namespace diffusion
FERGEN_END_NAMESPACE
