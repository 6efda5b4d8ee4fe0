// fergen/experiment/study_contract.hpp: what the study runner asks of its services (train a generator, train and
// test a classifier, extract features, log) and what they answer. The runner knows no network; fergen's own
// services are in study_services.hpp, the tests' stand-ins in tests/experiment.
#pragma once

#include <fergen/data/dataset.hpp>
#include <fergen/data/dataset_view.hpp>
#include <fergen/data/image.hpp>
#include <fergen/experiment/study_axes.hpp>
#include <fergen/experiment/study_results.hpp>
#include <fergen/experiment/synthetic_quality.hpp>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

// What a generator service returns: the synthetic set (labels in the real set's class order), its record
// (steps, loss curve, counts; the runner fills protocol, fold and the grid's path) and a per-class sample grid.
// The set is shared, not copied: every fold and classifier of the run reads it in place, and a service that
// hands several generators one set (`fergen evaluate --synthetic`) hands out one allocation.
struct generated_set {
  std::shared_ptr<const data::dataset> images;
  generator_record record;
  std::optional<data::image> sample_grid;
};

// One classifier trained on `train` and tested on each of `tests`. The settings that train on the same side
// (real-real and real-synth; synth-synth and synth-real) share their classifier: training twice with the same
// seed would give the same network, so the runner asks once and tests it on every set. The sets are views of the
// real frames or of a synthetic set, valid for the call.
struct classifier_request {
  std::string backbone;
  configuration config = configuration::baseline;
  data::dataset_view train;
  std::vector<data::dataset_view> tests;
  std::uint64_t seed = 0;
  std::string label;  // for progress lines: "random all, trial 1, real-real, vgg16, baseline"
};

struct classifier_result {
  std::vector<std::vector<std::int64_t>> predictions;  // per test set, one per image in the set's order
  std::vector<epoch_record> history;
};

struct study_services {
  // `train`: the frames the generator may learn, a view of the real set valid for the call.
  std::function<generated_set(const data::dataset_view& train, const std::string& label, std::uint64_t seed)>
      train_generator;
  std::function<classifier_result(const classifier_request&)> train_and_test;
  std::function<quality_features(const data::dataset_view& real_train, const data::dataset_view& synthetic,
                                 std::uint64_t seed)>
      features;  // optional: without it, the quality section has pixel-space memorisation only
  // The synthetic set was made elsewhere (`fergen evaluate --synthetic`): which subjects its generator learned
  // is unknown, so no row that trains on it counts as subject-independent.
  bool synthetic_given = false;
  std::function<void(const std::string&)> log = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
};

// A progress line through the services' log, when they have one.
inline void log_line(const study_services& services, const std::string& line) {
  if (services.log) services.log(line);
}

}  // namespace experiment
FERGEN_END_NAMESPACE
