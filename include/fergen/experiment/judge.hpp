// fergen/experiment/judge.hpp: a quick judge of one synthetic set without the whole study. One classifier is
// trained on real frames and one, of the same recipe and initial weights, on the synthetic images; both are tested
// on the same real frames: the Classification Accuracy Score (CAS, Ravuri & Vinyals 2019) overall and per class,
// beside the synthetic set's quality against the real frames (memorisation in pixels; FID, KID and manifold
// precision/recall in the penultimate features of the real-trained classifier).
//
// Like the study's runner it knows no network: the classifier comes as a service (judge_services.hpp makes it
// from fergen's backbones; the tests use stand-ins), so which frames train and test what is checked apart from how
// good a network is.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/dataset_view.hpp>
#include <fergen/data/leakage.hpp>
#include <fergen/data/split.hpp>
#include <fergen/eval/classification_metrics.hpp>
#include <fergen/experiment/cas.hpp>
#include <fergen/experiment/study_axes.hpp>
#include <fergen/experiment/study_results.hpp>
#include <fergen/experiment/synthetic_quality.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

// Which real frames the two classifiers are tested on.
//   random:   an 80/20 random split of the real frames; the real classifier learns the 80 %. Frames of one clip and
//             subject fall on both sides, and a generator trained on the real frames saw the test frames.
//   loso:     leave one subject out over the real frames' subjects: a real classifier per fold; the synthetic
//             classifier is trained once on every synthetic image and tested on every real frame; predictions
//             pooled, so every real frame is tested once by each side.
//   held_out: a separate real set (`--test`): the real classifier learns every frame of the real set, both are
//             tested on the held-out one. The honest judge of a generator trained on the real set.
enum class judge_protocol { random, loso, held_out };

inline constexpr std::array<axis_value<judge_protocol>, 3> judge_protocol_axis{{
    {judge_protocol::random, "random",
     "random 80/20 split of the real frames (leaks: frames of one clip and subject fall on both sides, and a "
     "generator trained on the real frames saw the test frames)"},
    {judge_protocol::loso, "loso",
     "leave one subject out over the real frames (a real-trained classifier per subject; the "
     "synthetic-trained one trained once and tested on every real frame)"},
    {judge_protocol::held_out, "held-out",
     "a held-out real set (the real-trained classifier learns every real frame; both are tested on the "
     "held-out set)"},
}};
inline std::string_view name(judge_protocol p) { return detail::axis_name(judge_protocol_axis, p); }
inline std::string_view describe(judge_protocol p) { return detail::axis_description(judge_protocol_axis, p); }

// --protocol: random or loso (held-out is chosen by giving a held-out set).
inline judge_protocol parse_judge_protocol(std::string_view text) {
  if (text == "random") return judge_protocol::random;
  if (text == "loso") return judge_protocol::loso;
  fail("judge: unknown protocol '", text, "' (known: random, loso; give --test DIR for a held-out real set)");
}

struct judge_plan {
  judge_protocol protocol = judge_protocol::random;
  double test_fraction = 0.2;  // random
  std::uint64_t seed = 0;      // the split's, and every classifier's (the same initial weights on both sides)
};

// One classifier to train and test. When features_real and features_synthetic are given, the service also returns
// both sets' features in the trained classifier's penultimate layer (the quality metrics' space). The sets are views
// of the judge's inputs (a fold's frames are read in place), valid for the call.
struct judge_request {
  data::dataset_view train;
  std::vector<data::dataset_view> tests;
  const data::dataset* features_real = nullptr;
  const data::dataset* features_synthetic = nullptr;
  std::uint64_t seed = 0;
  std::string label;  // "real-trained, fold sub01"
};

struct judge_response {
  std::vector<std::vector<std::int64_t>> predictions;  // per test set, one per image in the set's order
  std::optional<quality_features> features;            // when asked for; feature_space names the network
};

struct judge_services {
  std::function<judge_response(const judge_request&)> train_and_test;
  std::function<void(const std::string&)> log;
};

// One side of the comparison: the classifier(s) trained on real frames or on synthetic images, scored on the
// real test frames (pooled over folds under loso).
struct judged_side {
  std::int64_t classifiers = 0;   // trained: one, or one per fold
  std::int64_t train_images = 0;  // per classifier (summed over folds under loso)
  std::int64_t test_images = 0;
  double accuracy = 0, uf1 = 0, uar = 0;
  confusion_matrix confusion;
};

struct judge_fold {
  std::string name;  // the test subject
  std::int64_t test_images = 0;
  double real_trained_accuracy = 0, synthetic_trained_accuracy = 0;
};

struct judge_result {
  std::string protocol;  // random, loso, held-out
  std::string protocol_description;
  std::vector<std::string> class_names;
  std::vector<std::int64_t> real_class_counts, synthetic_class_counts, test_class_counts;
  std::int64_t real_subjects = 0;
  std::string test_frames;  // which real frames were tested, in words
  judged_side real_trained, synthetic_trained;
  std::optional<double> cas_ratio;  // synthetic-trained / real-trained accuracy
  std::vector<class_cas> cas_per_class;
  std::vector<judge_fold> folds;  // loso
  std::string quality_against;    // which real frames the synthetic set is measured against
  std::vector<quality_record> quality;
  std::vector<std::string> warnings;
};

namespace detail {

inline std::string class_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

inline judged_side score_side(const std::vector<std::int64_t>& truth, const std::vector<std::int64_t>& predicted,
                              std::int64_t classes) {
  const auto m = eval::classification_metrics::compute(truth, predicted, classes);
  judged_side s;
  s.test_images = m.samples;
  s.accuracy = m.accuracy;
  s.uf1 = m.uf1;
  s.uar = m.uar;
  s.confusion = confusion_of(m);
  return s;
}

}  // namespace detail

// Everything that can be wrong with the inputs, checked before any training: one line naming the problem and
// what is needed. The synthetic and held-out sets must already carry the real set's class names (the tool maps
// a folder's classes onto them, refusing a class the real set lacks).
inline void check_judge_inputs(const data::dataset& real, const data::dataset& synthetic,
                               const data::dataset* held_out, const judge_plan& plan) {
  const std::string classes = detail::class_list(real.class_names());
  require(synthetic.class_names() == real.class_names(), "judge: the synthetic set's classes (",
          detail::class_list(synthetic.class_names()), ") are not the real set's (", classes, ")");
  const auto real_counts = real.class_counts(), synthetic_counts = synthetic.class_counts();
  for (std::size_t c = 0; c < real_counts.size(); ++c) {
    require(real_counts[c] > 0, "judge: the real set has no frame of class '", real.class_names()[c],
            "'; each side needs at least one image per class (", classes, ")");
    require(synthetic_counts[c] > 0, "judge: the synthetic set has no image of class '", real.class_names()[c],
            "'; each side needs at least one image per class (", classes, ")");
  }
  switch (plan.protocol) {
    case judge_protocol::random: {
      require(std::isfinite(plan.test_fraction) && plan.test_fraction > 0 && plan.test_fraction < 1,
              "judge: the test fraction ", plan.test_fraction, " is outside (0, 1)");
      // sklearn's rule, as data::random_split: ceil(fraction * n) test frames, the rest train.
      auto test_frames = [&](std::int64_t n) {
        return static_cast<std::int64_t>(std::ceil(plan.test_fraction * static_cast<double>(n)));
      };
      std::int64_t needed = 2;
      while (test_frames(needed) >= needed) ++needed;
      require(real.size() >= needed, "judge: the random protocol's split of ", real.size(), " real frame",
              real.size() == 1 ? "" : "s", " leaves none to train on; it needs at least ", needed,
              " (a test frame and a training frame at test fraction ", plan.test_fraction, ")");
      break;
    }
    case judge_protocol::loso: {
      std::int64_t without = 0;
      for (const auto& s : real) without += s.subject.empty();
      require(without == 0, "judge: --protocol loso needs a subject id for every real frame, and ", without, " of ",
              real.size(), " have none (an image folder gets them from --manifest CSV: file, subject, clip)");
      require(real.subjects().size() >= 2, "judge: --protocol loso needs at least 2 subjects; the real set has ",
              real.subjects().size());
      break;
    }
    case judge_protocol::held_out: {
      require(held_out != nullptr, "judge: the held-out protocol needs a held-out real set");
      require(!held_out->empty(), "judge: the held-out real set is empty; it needs at least one frame");
      require(held_out->class_names() == real.class_names(), "judge: the held-out set's classes (",
              detail::class_list(held_out->class_names()), ") are not the real set's (", classes, ")");
      break;
    }
  }
  require(plan.protocol == judge_protocol::held_out || held_out == nullptr,
          "judge: a held-out real set is judged under the held-out protocol, not ", name(plan.protocol));
}

// Trains the classifiers, tests them on the protocol's real frames and measures the synthetic set. The same
// plan and inputs give the same result (the services are deterministic for a seed).
inline judge_result run_judge(const data::dataset& real, const data::dataset& synthetic, const data::dataset* held_out,
                              const judge_plan& plan, const judge_services& services) {
  check_judge_inputs(real, synthetic, held_out, plan);
  require(static_cast<bool>(services.train_and_test), "judge: no classifier service");
  const std::string pname(name(plan.protocol));
  auto log = [&](const std::string& line) {
    if (services.log) services.log(line);
  };
  judge_result r;
  r.protocol = pname;
  r.protocol_description = std::string(describe(plan.protocol));
  r.class_names = real.class_names();
  r.real_class_counts = real.class_counts();
  r.synthetic_class_counts = synthetic.class_counts();
  std::int64_t subjects = 0;
  for (const auto& id : real.subjects()) subjects += !id.empty();
  r.real_subjects = subjects;
  auto warn = [&](const std::string& line) {
    log(str("warning: [", pname, "] ", line));
    r.warnings.push_back(line);
  };
  const std::int64_t classes = real.class_count();
  auto train_and_test = [&](const judge_request& q) {
    log(str("[", pname, "] training the ", q.label, " classifier on ", q.train.size(), " images"));
    judge_response response = services.train_and_test(q);
    require(response.predictions.size() == q.tests.size(), "judge: the ", q.label, " classifier returned ",
            response.predictions.size(), " prediction sets for ", q.tests.size(), " test sets");
    for (std::size_t i = 0; i < q.tests.size(); ++i) {
      require(response.predictions[i].size() == static_cast<std::size_t>(q.tests[i].size()), "judge: the ", q.label,
              " classifier returned ", response.predictions[i].size(), " predictions for ", q.tests[i].size(),
              " test images");
      for (const std::int64_t p : response.predictions[i])
        require(p >= 0 && p < classes, "judge: prediction ", p, " is not a class");
    }
    require(q.features_real == nullptr || response.features.has_value(), "judge: the ", q.label,
            " classifier returned no features");
    return response;
  };
  auto labels_of = [](const data::dataset_view& ds) {
    std::vector<std::int64_t> out;
    for (const auto& s : ds) out.push_back(s.label);
    return out;
  };

  std::optional<quality_features> features;
  std::vector<std::int64_t> truth, real_predicted, synthetic_predicted;
  // One real-trained classifier on `train` and the synthetic-trained one, both tested on `test` (random, held-out);
  // the real-trained one gives the quality's feature space, learnt from `trained_on`.
  auto judge_on = [&](const data::dataset_view& train, const data::dataset_view& test, const std::string& trained_on) {
    auto real_side = train_and_test({train, {test}, &real, &synthetic, plan.seed, "real-trained"});
    auto synthetic_side = train_and_test({synthetic, {test}, nullptr, nullptr, plan.seed, "synthetic-trained"});
    truth = labels_of(test);
    real_predicted = std::move(real_side.predictions[0]);
    synthetic_predicted = std::move(synthetic_side.predictions[0]);
    features = std::move(real_side.features);
    features->feature_space += " trained on " + trained_on;
    r.real_trained.classifiers = 1;
    r.real_trained.train_images = train.size();
  };
  switch (plan.protocol) {
    case judge_protocol::random: {
      const data::split split = data::random_split(real, plan.test_fraction, plan.seed);
      const data::dataset_view train(real, split.train), test(real, split.test);
      const data::leakage_report leak = data::measure_leakage(real, split);
      warn(str("the random split leaks: ", leak.describe(), "; and a generator trained on the real frames saw these "
               "test frames, so the CAS ratio is not that of unseen frames (use --test with a held-out real set)"));
      r.test_frames = str(test.size(), " of the ", real.size(), " real frames (", split.name, ", seed ", plan.seed, ")");
      judge_on(train, test, str("the ", train.size(), " real training frames of the random split"));
      r.quality_against = str("all ", real.size(), " real frames");
      break;
    }
    case judge_protocol::loso: {
      warn("the judge cannot know whether the generator saw the test subjects: if it learned all the real frames, "
           "the synthetic-trained accuracy is not subject-independent (judge it on a held-out real set with --test)");
      const std::vector<data::split> folds = data::leave_one_subject_out(real);
      r.test_frames = str("all ", real.size(), " real frames, each tested once (", folds.size(),
                          " folds of one subject each)");
      // The synthetic side: one classifier, tested on every real frame; the folds read their part of it.
      auto synthetic_side = train_and_test({synthetic, {real}, nullptr, nullptr, plan.seed, "synthetic-trained"});
      const std::vector<std::int64_t>& all_synthetic = synthetic_side.predictions[0];
      for (const auto& fold : folds) {
        const data::dataset_view train(real, fold.train), test(real, fold.test);
        auto real_side = train_and_test({train, {test}, nullptr, nullptr, plan.seed, "real-trained, fold " + fold.name});
        judge_fold f{fold.name, test.size(), 0, 0};
        for (std::size_t i = 0; i < fold.test.size(); ++i) {
          const std::int64_t t = test[static_cast<std::int64_t>(i)].label;
          const std::int64_t s = all_synthetic[static_cast<std::size_t>(fold.test[i])];
          truth.push_back(t);
          real_predicted.push_back(real_side.predictions[0][i]);
          synthetic_predicted.push_back(s);
          f.real_trained_accuracy += real_side.predictions[0][i] == t;
          f.synthetic_trained_accuracy += s == t;
        }
        f.real_trained_accuracy /= static_cast<double>(f.test_images);
        f.synthetic_trained_accuracy /= static_cast<double>(f.test_images);
        r.folds.push_back(f);
        r.real_trained.train_images += train.size();
      }
      r.real_trained.classifiers = static_cast<std::int64_t>(folds.size());
      // The quality's feature space: one more real-trained classifier, on every real frame (no fold's is the
      // space of the whole set).
      auto space = train_and_test({real, {}, &real, &synthetic, plan.seed, "feature-space (real-trained, all frames)"});
      features = std::move(space.features);
      features->feature_space += str(" trained on all ", real.size(), " real frames (for the quality metrics only)");
      r.quality_against = str("all ", real.size(), " real frames");
      break;
    }
    case judge_protocol::held_out: {
      r.test_frames = str("the ", held_out->size(), " frames of the held-out real set");
      judge_on(real, *held_out, str("all ", real.size(), " real frames"));
      r.quality_against = str("all ", real.size(), " real (training) frames");
      break;
    }
  }
  const auto real_classifiers = r.real_trained.classifiers;
  const auto real_train_images = r.real_trained.train_images;
  r.real_trained = detail::score_side(truth, real_predicted, classes);
  r.real_trained.classifiers = real_classifiers;
  r.real_trained.train_images = real_train_images;
  r.synthetic_trained = detail::score_side(truth, synthetic_predicted, classes);
  r.synthetic_trained.classifiers = 1;
  r.synthetic_trained.train_images = synthetic.size();
  r.test_class_counts.assign(static_cast<std::size_t>(classes), 0);
  for (const auto t : truth) ++r.test_class_counts[static_cast<std::size_t>(t)];
  r.cas_ratio = cas_ratio(r.synthetic_trained.accuracy, r.real_trained.accuracy);
  r.cas_per_class = compare_per_class(r.real_trained.confusion, r.synthetic_trained.confusion, r.class_names);
  log(str("[", pname, "] measuring the synthetic set against ", r.quality_against));
  r.quality = measure_quality(real, synthetic, features, pname, "all", plan.seed);
  return r;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
