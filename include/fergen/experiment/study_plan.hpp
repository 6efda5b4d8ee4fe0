// fergen/experiment/study_plan.hpp: which cells of the study's grid a run covers, and how often.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/experiment/study_axes.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

struct study_plan {
  std::vector<std::string> backbones{"vgg16", "resnet50", "inception_v3"};
  std::vector<setting> settings{all_settings.begin(), all_settings.end()};
  std::vector<configuration> configs{configuration::baseline};
  std::vector<protocol> protocols{protocol::random};
  std::int64_t trials = 5;       // the study's
  std::int64_t folds = 5;        // subject-kfold's k
  // Subject protocols: the folds share this many generators, each trained without the test subjects of every
  // fold it serves, so each stays subject-independent for its folds (0: one generator per fold). LOSO on the
  // study's 26 subjects would otherwise train 26 diffusion models.
  std::int64_t generator_folds = 0;
  double test_fraction = 0.2;    // the study's 80/20
  std::uint64_t seed = 0;

  bool uses_synthetic() const {
    for (const auto s : settings)
      if (s != setting::real_real) return true;
    return false;
  }

  // Everything a run needs, checked before any work starts.
  void validate() const {
    require(!backbones.empty(), "study: no backbones given");
    for (const auto& b : backbones) parse_backbone(b);
    require(!settings.empty(), "study: no settings given");
    require(!configs.empty(), "study: no configurations given");
    require(!protocols.empty(), "study: no protocols given");
    require(trials >= 1, "study: --trials must be at least 1, got ", trials);
    require(folds >= 2, "study: --folds must be at least 2, got ", folds);
    require(generator_folds == 0 || generator_folds >= 2, "study: --generator-folds must be 0 (one generator per "
            "fold) or at least 2, got ", generator_folds);
    require(std::isfinite(test_fraction) && test_fraction > 0 && test_fraction < 1, "study: test fraction ",
            test_fraction, " is outside (0, 1)");
  }
};

}  // namespace experiment
FERGEN_END_NAMESPACE
