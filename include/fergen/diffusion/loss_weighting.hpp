// fergen/diffusion/loss_weighting.hpp: how much each timestep's error counts in the training loss.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/diffusion/names.hpp>
#include <fergen/diffusion/parameterization.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <utility>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

enum class loss_weighting_kind { uniform, min_snr };

inline constexpr std::pair<std::string_view, loss_weighting_kind> loss_weighting_names[] = {
    {"uniform", loss_weighting_kind::uniform}, {"min-snr", loss_weighting_kind::min_snr},
    {"min_snr", loss_weighting_kind::min_snr}};
inline loss_weighting_kind loss_weighting_from_name(std::string_view name) {
  return detail::from_name("loss weighting", name, loss_weighting_names);
}
inline std::string_view name_of(loss_weighting_kind k) { return detail::to_name(k, loss_weighting_names); }

// uniform: every sample's squared error counts alike (DDPM's L_simple for epsilon prediction).
// min_snr: Min-SNR-gamma (Hang et al. 2023): the loss of each parameterisation re-weighted so that it equals
// min(SNR, gamma) times the x0 loss, which stops the low-noise timesteps from dominating:
//   epsilon: min(snr, gamma) / snr      sample: min(snr, gamma)      v: min(snr, gamma) / (snr + 1)
struct loss_weighting {
  loss_weighting_kind kind = loss_weighting_kind::uniform;
  double gamma = 5.0;

  void validate() const {
    require(std::isfinite(gamma) && gamma > 0, "loss weighting '", name_of(kind), "': gamma = ", gamma,
            " must be a finite value > 0");
  }

  double weight(prediction_type p, double snr) const {
    if (kind == loss_weighting_kind::uniform) return 1.0;
    require(std::isfinite(snr) && snr > 0, "loss weighting: SNR ", snr, " must be finite and positive");
    const double clipped = std::min(snr, gamma);
    switch (p) {
      case prediction_type::epsilon: return clipped / snr;
      case prediction_type::sample: return clipped;
      case prediction_type::v: return clipped / (snr + 1);
    }
    return 1.0;
  }

  std::string describe() const { return kind == loss_weighting_kind::uniform ? "uniform" : str("min-snr gamma ", gamma); }
};

}  // namespace diffusion
FERGEN_END_NAMESPACE
