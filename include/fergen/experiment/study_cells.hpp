// fergen/experiment/study_cells.hpp: one cell of the study's grid (protocol, trial, configuration, setting,
// backbone) scored: its classifiers' predictions pooled over the folds, the real split's leakage, and whether the
// row leaks and why.
#pragma once

#include <fergen/data/leakage.hpp>
#include <fergen/eval/classification_metrics.hpp>
#include <fergen/experiment/cas.hpp>
#include <fergen/experiment/study_axes.hpp>
#include <fergen/experiment/study_classifiers.hpp>
#include <fergen/experiment/study_generators.hpp>
#include <fergen/experiment/study_results.hpp>

#include <cstdint>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

namespace detail {

// Whether the row leaks and why: the real split measured when both sides are real; by construction otherwise.
inline void flag_leakage(trial_record& rec, setting set, bool generator_sees_test, bool synthetic_given) {
  rec.generator_saw_test_subjects = set == setting::synth_real && (generator_sees_test || synthetic_given);
  if (set == setting::real_real && (*rec.clip_overlap > 0 || *rec.subject_overlap > 0)) {
    rec.leaking = true;
    rec.leak_reason = str(data::detail::percent(*rec.clip_overlap), " of test frames share a clip and ",
                          data::detail::percent(*rec.subject_overlap), " a subject with training");
  } else if (rec.generator_saw_test_subjects) {
    rec.leaking = true;
    rec.leak_reason = synthetic_given
                          ? "the synthetic set was given; its generator may have learned the test subjects"
                          : "the generator learned every real frame, the test frames included";
  } else if (tests_on_synthetic(set)) {
    rec.leaking = true;
    rec.leak_reason = set == setting::synth_synth
                          ? "synthetic images split at random: they carry no subject to keep apart"
                          : "tests on synthetic images made from the classifier's own training subjects";
  }
}

}  // namespace detail

// The row of one cell, its classifiers trained (or found) in `classifiers`. Predictions are pooled over folds, as
// MEGC 2019 scores LOSO: every real frame once in one confusion matrix.
inline trial_record score_cell(const std::string& protocol_name, const protocol_generators& gens,
                               const trial_data& trial, trial_classifiers& classifiers, configuration config,
                               setting set, const std::string& backbone, std::int64_t class_count,
                               bool synthetic_given) {
  trial_record rec;
  rec.protocol = protocol_name;
  rec.setting = std::string(name(set));
  rec.backbone = backbone;
  rec.config = std::string(name(config));
  rec.trial = trial.trial;
  std::vector<std::int64_t> truth, predicted;  // pooled over folds
  double clip_shared = 0, subject_shared = 0;
  for (std::size_t f = 0; f < trial.folds.size(); ++f) {
    const trained_classifier& classifier = classifiers.get(config, backbone, set, f);
    // A classifier shared by several folds counts its training set once.
    if (!trains_on_synthetic(set) || f == gens.first_fold(gens.of_fold[f])) rec.train_images += classifier.train_images;
    if (f == 0) rec.history = classifier.history;
    // Synthetic test images are counted once per generator, under its first fold.
    const auto tested = classifier.predictions.find({set, f});
    if (tested == classifier.predictions.end()) continue;
    // The test set's labels were kept when the classifier was tested: no second look at its images.
    const std::vector<std::int64_t>& predictions = tested->second;
    const std::vector<std::int64_t>& labels = classifier.truth.at({set, f});
    const auto test_size = static_cast<std::int64_t>(labels.size());
    std::int64_t correct = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      truth.push_back(labels[i]);
      predicted.push_back(predictions[i]);
      correct += predictions[i] == labels[i];
    }
    rec.test_images += test_size;
    const fold_plan& fold = trial.folds[f];
    rec.folds.push_back({set == setting::synth_synth ? gens.plans[gens.of_fold[f]].name : fold.name,
                         tests_on_synthetic(set) ? std::vector<std::string>{} : fold.test_subjects, test_size,
                         test_size > 0 ? static_cast<double>(correct) / static_cast<double>(test_size) : 0.0});
    clip_shared += trial.leakage[f].clip_overlap * static_cast<double>(test_size);
    subject_shared += trial.leakage[f].subject_overlap * static_cast<double>(test_size);
  }
  const auto m = eval::classification_metrics::compute(truth, predicted, class_count);
  rec.accuracy = m.accuracy;
  rec.uf1 = m.uf1;
  rec.uar = m.uar;
  rec.confusion = confusion_of(m);
  if (set == setting::real_real) {
    rec.clip_overlap = clip_shared / static_cast<double>(rec.test_images);
    rec.subject_overlap = subject_shared / static_cast<double>(rec.test_images);
  }
  detail::flag_leakage(rec, set, trial.folds.front().generator_sees_test, synthetic_given);
  return rec;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
