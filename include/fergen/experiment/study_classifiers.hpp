// fergen/experiment/study_classifiers.hpp: the study's classifiers of one trial: which frames each trains on, which
// sets it is tested on, and one classifier for every cell that can share it. Every set is a view of the real frames
// or of a synthetic set: no classifier copies the images it reads.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/dataset_view.hpp>
#include <fergen/data/leakage.hpp>
#include <fergen/data/split.hpp>
#include <fergen/experiment/folds.hpp>
#include <fergen/experiment/study_axes.hpp>
#include <fergen/experiment/study_contract.hpp>
#include <fergen/experiment/study_generators.hpp>
#include <fergen/experiment/study_plan.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

// One trial of a protocol: its folds (the random protocol's split is redrawn per trial, subject folds stay), each
// synthetic set's 80/20 split (synthetic images carry no subject to group by) and the real split's leakage.
struct trial_data {
  std::vector<fold_plan> folds;
  std::vector<std::optional<data::split>> synthetic_split;  // per generator
  std::vector<data::leakage_report> leakage;               // per fold, measured
  std::int64_t trial = 0;                                   // 1-based
  std::uint64_t seed = 0;                                   // of the splits and classifiers
};

// The seed of a trial's splits and classifiers.
inline std::uint64_t trial_seed(const study_plan& plan, std::int64_t trial) {
  return plan.seed + 101 * static_cast<std::uint64_t>(trial);
}

// A trial's folds: the random protocol's split is redrawn per trial, subject folds stay.
inline std::vector<fold_plan> trial_folds(const data::dataset& real, protocol prot,
                                          const std::vector<fold_plan>& fixed_folds, const study_plan& plan,
                                          std::int64_t trial) {
  return prot == protocol::random ? plan_folds(real, prot, trial_seed(plan, trial), plan.folds, plan.test_fraction)
                                  : fixed_folds;
}

// The measured leakage of each of a trial's folds.
inline std::vector<data::leakage_report> trial_leakage(const data::dataset& real, protocol prot,
                                                       const std::vector<fold_plan>& fixed_folds,
                                                       const study_plan& plan, std::int64_t trial) {
  std::vector<data::leakage_report> out;
  for (const auto& fold : trial_folds(real, prot, fixed_folds, plan, trial))
    out.push_back(data::measure_leakage(real, fold.real));
  return out;
}

inline trial_data plan_trial(const data::dataset& real, protocol prot, const std::vector<fold_plan>& fixed_folds,
                             const protocol_generators& gens, const study_plan& plan, std::int64_t trial) {
  trial_data t;
  t.trial = trial;
  t.seed = trial_seed(plan, trial);
  t.folds = trial_folds(real, prot, fixed_folds, plan, trial);
  t.synthetic_split.resize(gens.plans.size());
  for (std::size_t g = 0; g < gens.plans.size(); ++g)
    if (gens.sets[g]) t.synthetic_split[g] = data::random_split(*gens.sets[g], plan.test_fraction, t.seed + g);
  for (const auto& fold : t.folds) t.leakage.push_back(data::measure_leakage(real, fold.real));
  return t;
}

// A classifier trained and tested: per (setting, fold) the predicted and true labels of that fold's test set.
struct trained_classifier {
  std::map<std::pair<setting, std::size_t>, std::vector<std::int64_t>> predictions, truth;
  std::vector<epoch_record> history;
  std::int64_t train_images = 0;
};

// The trial's classifiers, each trained on first use. A real-trained one per fold. A synthetic-trained one per
// generator: the folds that share a generator share its training set, so one classifier serves them all (tested on
// each fold's real frames) instead of one per fold that would differ only by its seed; its synthetic test split is
// counted once, under the generator's first fold. The referenced data must outlive the object.
class trial_classifiers {
 public:
  trial_classifiers(const data::dataset& real, const study_plan& plan, const protocol_generators& gens,
                    const trial_data& trial, std::string protocol_name, const study_services& services)
      : real_(real), plan_(plan), gens_(gens), trial_(trial), protocol_name_(std::move(protocol_name)),
        services_(services) {}

  // The classifier that cell (config, backbone, setting) uses for fold f.
  const trained_classifier& get(configuration config, const std::string& backbone, setting set, std::size_t f) {
    const bool synthetic_train = trains_on_synthetic(set);
    const std::size_t g = gens_.of_fold[f];
    const auto key = std::make_tuple(config, backbone, synthetic_train, synthetic_train ? g : f);
    if (auto it = trained_.find(key); it != trained_.end()) return it->second;
    return trained_.emplace(key, train(config, backbone, synthetic_train, f)).first->second;
  }

 private:
  trained_classifier train(configuration config, const std::string& backbone, bool synthetic_train,
                           std::size_t f) const {
    const std::size_t g = gens_.of_fold[f];
    const std::vector<fold_plan>& folds = trial_.folds;
    // What this classifier is tested on: per setting of the plan that trains on its side, the test sets of the
    // folds it serves.
    const std::vector<std::size_t> served = synthetic_train ? gens_.plans[g].folds : std::vector<std::size_t>{f};
    std::vector<std::pair<setting, std::size_t>> test_keys;
    std::vector<data::dataset_view> tests;
    for (const setting s : plan_.settings) {
      if (trains_on_synthetic(s) != synthetic_train) continue;
      if (tests_on_synthetic(s)) {
        test_keys.emplace_back(s, synthetic_train ? gens_.first_fold(g) : f);
        tests.emplace_back(*gens_.sets[g], trial_.synthetic_split[g]->test);
      } else {
        for (const std::size_t t : served) {
          test_keys.emplace_back(s, t);
          tests.emplace_back(real_, folds[t].real.test);
        }
      }
    }
    const std::size_t seed_fold = synthetic_train ? gens_.first_fold(g) : f;  // both sides of a fold: one seed
    classifier_request request{
        backbone,
        config,
        synthetic_train ? data::dataset_view(*gens_.sets[g], trial_.synthetic_split[g]->train)
                        : data::dataset_view(real_, folds[f].real.train),
        std::move(tests),
        trial_.seed + 7919 * static_cast<std::uint64_t>(seed_fold + 1),
        str(protocol_name_, " ", synthetic_train ? gens_.plans[g].name : folds[f].name, ", trial ", trial_.trial,
            ", trained on ", synthetic_train ? "synthetic" : "real", ", ", backbone, ", ", name(config))};
    classifier_result result = services_.train_and_test(request);
    require(result.predictions.size() == request.tests.size(), "study: the classifier of ", request.label,
            " returned ", result.predictions.size(), " prediction sets for ", request.tests.size(), " test sets");
    trained_classifier made;
    for (std::size_t i = 0; i < request.tests.size(); ++i) {
      const data::dataset_view& test = request.tests[i];
      require(result.predictions[i].size() == static_cast<std::size_t>(test.size()), "study: the classifier of ",
              request.label, " returned ", result.predictions[i].size(), " predictions for ", test.size(),
              " test images");
      for (const std::int64_t p : result.predictions[i])
        require(p >= 0 && p < real_.class_count(), "study: prediction ", p, " is not a class");
      made.predictions[test_keys[i]] = std::move(result.predictions[i]);
      for (const auto& sample : test) made.truth[test_keys[i]].push_back(sample.label);
    }
    made.history = std::move(result.history);
    made.train_images = request.train.size();
    return made;
  }

  const data::dataset& real_;
  const study_plan& plan_;
  const protocol_generators& gens_;
  const trial_data& trial_;
  std::string protocol_name_;
  const study_services& services_;
  std::map<std::tuple<configuration, std::string, bool, std::size_t>, trained_classifier> trained_;
};

}  // namespace experiment
FERGEN_END_NAMESPACE
