// fergen/experiment/folds.hpp: how a protocol divides the real frames, and which frames each fold's
// generator may learn from.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/split.hpp>
#include <fergen/experiment/study_axes.hpp>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <set>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

// One fold of a protocol. Classifiers train on real.train (or on synthetic images) and are tested on
// real.test (or on synthetic images); the fold's generator learns from generator_train only.
struct fold_plan {
  std::string name;                        // "all" (random), "sub03" (loso), "fold 2 of 5" (subject-kfold)
  data::split real;                        // indices into the real dataset
  std::vector<std::string> test_subjects;  // empty for the random protocol
  std::vector<std::int64_t> generator_train;
  bool generator_sees_test = false;  // the study's way: its generator learned every real frame
};

// The folds of a protocol over the real dataset.
//  random:        one fold; a frame-level random split (test_fraction), and, as in the study, the generator
//                 learns from every real frame, the test frames included.
//  loso:          one fold per subject; the generator of a fold learns from the other subjects only.
//  subject_kfold: k folds of whole subjects; likewise.
// The split of the random protocol is redrawn per trial (split_seed); subject folds stay fixed across trials,
// so one generator per fold serves every trial.
inline std::vector<fold_plan> plan_folds(const data::dataset& real, protocol p, std::uint64_t split_seed,
                                         std::int64_t folds = 5, double test_fraction = 0.2) {
  require(!real.empty(), "plan_folds: the real dataset is empty");
  std::vector<fold_plan> plans;
  if (p == protocol::random) {
    fold_plan f;
    f.name = "all";
    f.real = data::random_split(real, test_fraction, split_seed);
    f.generator_train.resize(static_cast<std::size_t>(real.size()));
    std::iota(f.generator_train.begin(), f.generator_train.end(), 0);
    f.generator_sees_test = true;
    plans.push_back(std::move(f));
    return plans;
  }
  for (const auto& s : real.subjects())
    require(!s.empty(), "protocol ", name(p), " needs the subject of every frame; some frames have none (an image ",
            "folder needs a manifest with a subject column)");
  const std::vector<data::split> splits =
      p == protocol::loso ? data::leave_one_subject_out(real) : data::subject_kfold(real, folds, split_seed);
  for (std::size_t i = 0; i < splits.size(); ++i) {
    fold_plan f;
    f.real = splits[i];
    f.name = p == protocol::loso ? splits[i].name : str("fold ", i + 1, " of ", splits.size());
    std::set<std::string> subjects;
    for (const auto j : f.real.test) subjects.insert(real[j].subject);
    f.test_subjects.assign(subjects.begin(), subjects.end());
    f.generator_train = f.real.train;
    plans.push_back(std::move(f));
  }
  return plans;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
