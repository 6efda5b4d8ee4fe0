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

// A generator and the folds it serves. Under a subject protocol it learns every real frame except those of
// the test subjects of all its folds; under the random protocol it is the one fold's (every frame).
struct generator_plan {
  std::string name;                            // the fold's name, or "sub01+sub02", "folds 1-13 of 26"
  std::vector<std::size_t> folds;              // indices into the protocol's folds
  std::vector<std::int64_t> train;             // indices into the real dataset
  std::vector<std::string> held_out_subjects;  // no frame of these is in train
  bool sees_test = false;
};

// Groups a protocol's folds into `groups` generators (contiguous runs of folds; 0, or as many as there are
// folds: one generator per fold).
inline std::vector<generator_plan> plan_generators(const data::dataset& real, const std::vector<fold_plan>& folds,
                                                   std::int64_t groups = 0) {
  require(!folds.empty(), "plan_generators: no folds");
  std::vector<generator_plan> out;
  const std::size_t n = folds.size();
  if (groups <= 0 || static_cast<std::size_t>(groups) >= n || folds.front().generator_sees_test) {
    for (std::size_t f = 0; f < n; ++f)
      out.push_back({folds[f].name, {f}, folds[f].generator_train, folds[f].test_subjects, folds[f].generator_sees_test});
    return out;
  }
  const auto k = static_cast<std::size_t>(groups);
  for (std::size_t g = 0; g < k; ++g) {
    generator_plan plan;
    std::set<std::string> held_out;
    for (std::size_t f = g * n / k; f < (g + 1) * n / k; ++f) {
      plan.folds.push_back(f);
      held_out.insert(folds[f].test_subjects.begin(), folds[f].test_subjects.end());
    }
    plan.held_out_subjects.assign(held_out.begin(), held_out.end());
    for (std::int64_t i = 0; i < real.size(); ++i)
      if (!held_out.contains(real[i].subject)) plan.train.push_back(i);
    require(!plan.train.empty(), "plan_generators: generator ", g + 1, " of ", k, " would learn no frame (its folds ",
            "hold out every subject); use more generator folds");
    if (plan.folds.size() <= 3) {
      for (const std::size_t f : plan.folds) plan.name += (plan.name.empty() ? "" : "+") + folds[f].name;
    } else {
      plan.name = str("folds ", plan.folds.front() + 1, "-", plan.folds.back() + 1, " of ", n);
    }
    out.push_back(std::move(plan));
  }
  return out;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
