// fergen/experiment/study_work.hpp: the work a study plan asks for, listed before any of it runs: its generator
// trainings, and its units. A unit is one protocol's trial, configuration and backbone: the cells of every setting
// that share classifiers (real-real and real-synth read the real-trained ones, synth-synth and synth-real the
// synthetic-trained ones), so a unit is the smallest piece of the grid that can run apart from the others without
// training a classifier twice. Sharding (study_shards.hpp) splits the units by cost; `fergen study --plan-only`
// prints the totals and their hours (study_estimate.hpp).
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/split.hpp>
#include <fergen/experiment/folds.hpp>
#include <fergen/experiment/study_axes.hpp>
#include <fergen/experiment/study_counts.hpp>
#include <fergen/experiment/study_plan.hpp>
#include <fergen/experiment/study_presets.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

// One generator of a protocol, as run_study trains it (study_generators.hpp).
struct generator_work {
  std::string protocol;        // its name: random, loso, subject-kfold
  std::size_t index = 0;       // within the protocol
  std::string name;            // the fold(s) it serves
  std::int64_t train_frames = 0;  // the real frames it learns (before the preset's motion filter, if any)
  std::int64_t images = 0;        // the synthetic images it makes

  std::string key() const { return str(protocol, "/", name); }
};

// A unit's key: protocol/trial/configuration/backbone.
inline std::string unit_key(const std::string& protocol, std::int64_t trial, std::string_view config,
                            const std::string& backbone) {
  return str(protocol, "/", trial, "/", config, "/", backbone);
}

// One classifier a unit trains: on real frames (one per fold) or on a generator's images (one per generator).
struct classifier_work {
  bool synthetic = false;
  std::int64_t train_images = 0;
  std::int64_t test_images = 0;  // summed over the sets it is tested on
};

// The cells of one (protocol, trial, configuration, backbone): one per setting of the plan.
struct unit_work {
  std::string protocol;
  std::int64_t trial = 1;
  configuration config = configuration::baseline;
  std::string backbone;
  std::vector<classifier_work> classifiers;
  std::vector<std::size_t> generators;  // indices into study_work::generators: the sets its classifiers read

  std::string key() const { return unit_key(protocol, trial, name(config), backbone); }
};

struct study_work {
  std::vector<generator_work> generators;  // in the order run_study trains them
  std::vector<unit_work> units;            // in the order of the grid: protocol, trial, configuration, backbone
  std::int64_t settings = 0;               // cells per unit

  std::int64_t cells() const { return static_cast<std::int64_t>(units.size()) * settings; }
  std::int64_t classifier_trainings() const {
    std::int64_t n = 0;
    for (const auto& u : units) n += static_cast<std::int64_t>(u.classifiers.size());
    return n;
  }
};

// The synthetic images a generator of `g` makes from frames of these class counts (study_services.hpp's rule).
inline std::int64_t synthetic_image_count(const generator_settings& g, const std::vector<std::string>& class_names,
                                          std::int64_t train_frames) {
  if (g.study_counts) {
    std::int64_t n = 0;
    for (const auto c : study_counts_for(class_names)) n += c;
    return n;
  }
  if (g.per_class > 0) return g.per_class * static_cast<std::int64_t>(class_names.size());
  return train_frames;
}

// Everything `plan` asks of the real frames, from the plan alone: the same folds, generators and order as
// run_study. Random-protocol folds are redrawn per trial with the same sizes, so trial 1's stand for all.
inline study_work plan_work(const data::dataset& real, const study_plan& plan, const generator_settings& generator) {
  plan.validate();
  study_work w;
  w.settings = static_cast<std::int64_t>(plan.settings.size());
  bool real_side = false, synthetic_side = false;
  for (const setting s : plan.settings) (trains_on_synthetic(s) ? synthetic_side : real_side) = true;
  for (const protocol prot : plan.protocols) {
    const std::string pname(name(prot));
    const std::vector<fold_plan> folds = plan_folds(real, prot, plan.seed, plan.folds, plan.test_fraction);
    const std::vector<generator_plan> gens = plan_generators(real, folds, plan.generator_folds);
    // Each generator's images and their 80/20 split (synthetic images are split at random, study_classifiers.hpp).
    std::vector<std::int64_t> images(gens.size()), synthetic_test(gens.size()), generator_of(folds.size());
    std::vector<std::size_t> protocol_generators;
    for (std::size_t g = 0; g < gens.size(); ++g) {
      const auto frames = static_cast<std::int64_t>(gens[g].train.size());
      images[g] = synthetic_image_count(generator, real.class_names(), frames);
      synthetic_test[g] = data::detail::test_count("plan_work", plan.test_fraction, images[g], "images");
      for (const std::size_t f : gens[g].folds) generator_of[f] = static_cast<std::int64_t>(g);
      if (!plan.uses_synthetic()) continue;
      protocol_generators.push_back(w.generators.size());
      w.generators.push_back({pname, g, gens[g].name, frames, images[g]});
    }
    // A unit's classifiers: one per fold on the real side, one per generator on the synthetic side, each tested on
    // the sets of the plan's settings on its side.
    std::vector<classifier_work> classifiers;
    if (real_side)
      for (std::size_t f = 0; f < folds.size(); ++f) {
        classifier_work c{false, static_cast<std::int64_t>(folds[f].real.train.size()), 0};
        for (const setting s : plan.settings)
          if (!trains_on_synthetic(s))
            c.test_images += tests_on_synthetic(s) ? synthetic_test[static_cast<std::size_t>(generator_of[f])]
                                                   : static_cast<std::int64_t>(folds[f].real.test.size());
        classifiers.push_back(c);
      }
    if (synthetic_side)
      for (std::size_t g = 0; g < gens.size(); ++g) {
        classifier_work c{true, images[g] - synthetic_test[g], 0};
        for (const setting s : plan.settings) {
          if (!trains_on_synthetic(s)) continue;
          if (tests_on_synthetic(s)) {
            c.test_images += synthetic_test[g];
          } else {
            for (const std::size_t f : gens[g].folds) c.test_images += static_cast<std::int64_t>(folds[f].real.test.size());
          }
        }
        classifiers.push_back(c);
      }
    for (std::int64_t trial = 1; trial <= plan.trials; ++trial)
      for (const configuration config : plan.configs)
        for (const std::string& backbone : plan.backbones)
          w.units.push_back({pname, trial, config, backbone, classifiers, protocol_generators});
  }
  return w;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
