// fergen/diffusion/parameterization.hpp: what the network predicts (noise, clean image or velocity), and the
// conversions between the three.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/diffusion/names.hpp>

#include <cmath>
#include <string_view>
#include <utility>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

// epsilon: the noise (Ho et al. 2020); sample: x0 itself; v: the velocity sqrt(abar) eps - sqrt(1 - abar) x0
// (Salimans & Ho 2022), which keeps the target's scale near 1 at every noise level.
enum class prediction_type { epsilon, sample, v };

inline constexpr std::pair<std::string_view, prediction_type> prediction_type_names[] = {
    {"eps", prediction_type::epsilon},   {"x0", prediction_type::sample}, {"v", prediction_type::v},
    {"epsilon", prediction_type::epsilon}, {"sample", prediction_type::sample},
    {"v_prediction", prediction_type::v}};
inline prediction_type prediction_type_from_name(std::string_view name) {
  return detail::from_name("prediction type", name, prediction_type_names);
}
inline std::string_view name_of(prediction_type p) { return detail::to_name(p, prediction_type_names); }

// A quantity as a linear function of x_t and the network output: value = from_xt * x_t + from_output * output.
// Every conversion is such a pair of numbers, computed in double on the host and applied by one tensor
// operation (ops::diffusion_steps::combine), so the three parameterisations cost the same.
struct linear_form {
  double from_xt = 0;
  double from_output = 0;
  double operator()(double x_t, double output) const { return from_xt * x_t + from_output * output; }
};

// The training target as a function of x0 and the noise: target = from_x0 * x0 + from_noise * eps.
struct target_form {
  double from_x0 = 0;
  double from_noise = 0;
  double operator()(double x0, double noise) const { return from_x0 * x0 + from_noise * noise; }
};

namespace detail {
inline void check_alpha_bar(double abar) {
  require(std::isfinite(abar) && abar > 0 && abar < 1, "parameterization: abar = ", abar,
          " is outside (0, 1); the conversions need some signal and some noise");
}
}  // namespace detail

// With a = sqrt(abar), s = sqrt(1 - abar) and x_t = a x0 + s eps:
//   epsilon: x0 = (x_t - s out) / a          sample: x0 = out             v: x0 = a x_t - s out
inline linear_form x0_from(prediction_type p, double abar) {
  detail::check_alpha_bar(abar);
  const double a = std::sqrt(abar), s = std::sqrt(1 - abar);
  switch (p) {
    case prediction_type::epsilon: return {1 / a, -s / a};
    case prediction_type::sample: return {0, 1};
    case prediction_type::v: return {a, -s};
  }
  return {};
}

//   epsilon: eps = out                       sample: eps = (x_t - a out) / s    v: eps = s x_t + a out
inline linear_form noise_from(prediction_type p, double abar) {
  detail::check_alpha_bar(abar);
  const double a = std::sqrt(abar), s = std::sqrt(1 - abar);
  switch (p) {
    case prediction_type::epsilon: return {0, 1};
    case prediction_type::sample: return {1 / s, -a / s};
    case prediction_type::v: return {s, a};
  }
  return {};
}

//   epsilon: eps                             sample: x0                          v: a eps - s x0
inline target_form target_of(prediction_type p, double abar) {
  detail::check_alpha_bar(abar);
  const double a = std::sqrt(abar), s = std::sqrt(1 - abar);
  switch (p) {
    case prediction_type::epsilon: return {0, 1};
    case prediction_type::sample: return {1, 0};
    case prediction_type::v: return {-s, a};
  }
  return {};
}

// The output a network of type `to` would give where one of type `from` gives `output` (same x_t, abar): the
// target of `to` evaluated at the x0 and noise that `from` implies.
inline linear_form convert(prediction_type from, prediction_type to, double abar) {
  const linear_form x0 = x0_from(from, abar), eps = noise_from(from, abar);
  const target_form t = target_of(to, abar);
  return {t.from_x0 * x0.from_xt + t.from_noise * eps.from_xt, t.from_x0 * x0.from_output + t.from_noise * eps.from_output};
}

}  // namespace diffusion
FERGEN_END_NAMESPACE
