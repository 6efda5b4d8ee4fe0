// Tests of experiment/folds.hpp and experiment/study_runner.hpp: the protocol logic of the study, run with
// stand-in services (a nearest-class-mean classifier, a generator that perturbs the frames it learned) so
// that what is checked is which data goes where, not how good a network is.
#include <fergen/data/procedural_faces.hpp>
#include <fergen/experiment/folds.hpp>
#include <fergen/experiment/study_runner.hpp>

#include "support/errors.hpp"
#include "support/study_stand_ins.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

using namespace fergen;
using namespace fergen::experiment;

using fergen::testing::faces;
using fergen::testing::nearest_mean;
using fergen::testing::recording_services;
using fergen::testing::slurp;

TEST_CASE("folds: random learns every frame; loso keeps each subject out of its fold's generator") {
  const auto random = plan_folds(faces(), protocol::random, 3);
  REQUIRE(random.size() == 1);
  CHECK(random[0].generator_sees_test);
  CHECK(static_cast<std::int64_t>(random[0].generator_train.size()) == faces().size());
  const auto loso = plan_folds(faces(), protocol::loso, 3);
  REQUIRE(loso.size() == 4);
  for (const auto& f : loso) {
    REQUIRE(f.test_subjects.size() == 1);
    CHECK(f.name == f.test_subjects[0]);
    CHECK(!f.generator_sees_test);
    for (const auto i : f.generator_train) CHECK(faces()[i].subject != f.test_subjects[0]);
  }
  const auto kfold = plan_folds(faces(), protocol::subject_kfold, 3, 2);
  REQUIRE(kfold.size() == 2);
  CHECK(kfold[0].name == "fold 1 of 2");
  CHECK(kfold[0].test_subjects.size() == 2);
}

TEST_CASE("the study grid under random and loso: rows, leakage flags and what each generator saw") {
  const auto out = std::filesystem::temp_directory_path() / "fergen-test-study-runner";
  std::filesystem::remove_all(out);
  study_plan plan;
  plan.backbones = {"vgg16", "resnet50"};
  plan.protocols = {protocol::random, protocol::loso};
  plan.trials = 2;
  plan.seed = 5;
  recording_services services;
  const study_results r = run_study(faces(), plan, services.services(), out, {});
  CHECK(r.trials_run.size() == 2 * 2 * 4 * 2);  // protocols x trials x settings x backbones
  CHECK(r.generators.size() == 1 + 4);          // one for random, one per subject
  // The random protocol's generator learned every subject; each LOSO generator all but its test subject.
  REQUIRE(services.generator_subjects.size() == 5);
  CHECK(services.generator_subjects[0].size() == 4);
  // One classifier per training side (real, synthetic), fold, backbone and trial, each tested on two sets:
  // real-real and real-synth share theirs, as do synth-synth and synth-real.
  CHECK(services.classifier_tests == std::vector<std::size_t>((1 + 4) * 2 * 2 * 2, 2));
  for (std::size_t f = 1; f < 5; ++f) {
    CHECK(services.generator_subjects[f].size() == 3);
    CHECK(!services.generator_subjects[f].contains(r.generators[f].held_out_subjects.at(0)));
  }
  for (const auto& t : r.trials_run) {
    CAPTURE(t.protocol);
    CAPTURE(t.setting);
    if (t.setting == "real-real") {
      REQUIRE(t.clip_overlap.has_value());
      if (t.protocol == "random") {
        CHECK(*t.subject_overlap == 1.0);
        CHECK(*t.clip_overlap > 0.9);
        CHECK(t.leaking);
      } else {
        CHECK(*t.subject_overlap == 0.0);
        CHECK(*t.clip_overlap == 0.0);
        CHECK(!t.leaking);
        CHECK(t.folds.size() == 4);
        CHECK(t.test_images == faces().size());  // LOSO tests every real frame once
      }
    } else {
      CHECK(!t.clip_overlap.has_value());
    }
    if (t.setting == "synth-real") {
      CHECK(t.generator_saw_test_subjects == (t.protocol == "random"));
      CHECK(t.leaking == (t.protocol == "random"));
    }
    if (t.setting == "synth-synth" || t.setting == "real-synth") CHECK(t.leaking);
    std::int64_t pooled = 0;
    for (const auto& row : t.confusion)
      for (auto v : row) pooled += v;
    CHECK(pooled == t.test_images);
    CHECK(t.accuracy >= 0.0);
    CHECK(t.accuracy <= 1.0);
  }
  // The frame-level split lets a nearest-mean classifier recognise seen clips; LOSO takes that away.
  double random_acc = 0, loso_acc = 0;
  for (const auto& t : r.trials_run)
    if (t.setting == "real-real") (t.protocol == "random" ? random_acc : loso_acc) += t.accuracy;
  CHECK(random_acc > loso_acc);
  // Quality: per class and overall, per generator.
  CHECK(r.quality.size() == 5 * (faces().class_count() + 1));
  CHECK(r.quality[0].class_name == "all");
  CHECK(r.quality[0].fid.has_value());
  CHECK(r.quality[0].memorization_rate.has_value());
  CHECK(std::filesystem::exists(out / "results.json"));
  CHECK(std::filesystem::exists(out / "results.csv"));
  CHECK(std::filesystem::exists(out / r.generators[0].sample_grid));
  CHECK(!r.warnings.empty());  // the random split's overlap is said out loud
  CHECK(testing::contains(r.warnings[0], "share a clip"));
}

TEST_CASE("the same seed gives the same results.json; another seed another") {
  study_plan plan;
  plan.backbones = {"vgg16"};
  plan.settings = {setting::real_real, setting::synth_real};
  plan.trials = 1;
  plan.seed = 11;
  const auto a = std::filesystem::temp_directory_path() / "fergen-test-study-runner-a";
  const auto b = std::filesystem::temp_directory_path() / "fergen-test-study-runner-b";
  const auto c = std::filesystem::temp_directory_path() / "fergen-test-study-runner-c";
  recording_services s1, s2, s3;
  run_study(faces(), plan, s1.services(), a, {});
  run_study(faces(), plan, s2.services(), b, {});
  plan.seed = 12;
  run_study(faces(), plan, s3.services(), c, {});
  CHECK(slurp(a / "results.json") == slurp(b / "results.json"));
  CHECK(slurp(a / "results.json") != slurp(c / "results.json"));
}

TEST_CASE("study: bad plans fail before any work") {
  recording_services s;
  study_plan plan;
  plan.trials = 0;
  const auto out = std::filesystem::temp_directory_path() / "fergen-test-study-runner-bad";
  CHECK(testing::contains(testing::error_of([&] { run_study(faces(), plan, s.services(), out, {}); }),
                          "--trials must be at least 1, got 0"));
  plan.trials = 1;
  plan.backbones = {"alexnet"};
  CHECK(testing::contains(testing::error_of([&] { run_study(faces(), plan, s.services(), out, {}); }),
                          "unknown backbone 'alexnet'"));
  CHECK(s.generator_subjects.empty());
}

TEST_CASE("generator folds: LOSO's folds share generators, each blind to the test subjects of its folds") {
  const data::dataset& real = faces();
  const auto folds = plan_folds(real, protocol::loso, 0);
  REQUIRE(folds.size() == 4);
  const auto one_each = plan_generators(real, folds, 0);
  CHECK(one_each.size() == 4);
  CHECK(one_each[2].folds == std::vector<std::size_t>{2});
  const auto shared = plan_generators(real, folds, 2);
  REQUIRE(shared.size() == 2);
  CHECK(shared[0].name == folds[0].name + "+" + folds[1].name);
  CHECK(shared[1].folds == std::vector<std::size_t>{2, 3});
  for (const auto& g : shared) {
    CHECK(g.held_out_subjects.size() == 2);
    for (const std::size_t f : g.folds)
      for (const auto i : g.train) CHECK(real[i].subject != folds[f].test_subjects.at(0));
    CHECK(static_cast<std::int64_t>(g.train.size()) < real.size());
  }
  // The random protocol's one generator is never grouped.
  CHECK(plan_generators(real, plan_folds(real, protocol::random, 0), 2).size() == 1);

  // In a run: 1 + 2 generators, and no LOSO synth-real row leaks.
  const auto out = std::filesystem::temp_directory_path() / "fergen-test-study-generator-folds";
  std::filesystem::remove_all(out);
  study_plan plan;
  plan.backbones = {"resnet50"};
  plan.protocols = {protocol::random, protocol::loso};
  plan.trials = 1;
  plan.generator_folds = 2;
  recording_services services;
  const study_results r = run_study(real, plan, services.services(), out, {});
  REQUIRE(r.generators.size() == 3);
  CHECK(r.generators[1].held_out_subjects.size() == 2);
  CHECK(services.generator_subjects[1].size() == 2);
  // Classifiers: random 1 real + 1 synthetic, each tested on 2 sets; LOSO 4 real (one per fold, each tested on
  // its fold's real frames and its generator's synthetic split) and 2 synthetic (one per generator, tested on
  // its synthetic split and on the real frames of each of its 2 folds).
  CHECK(services.classifier_tests == std::vector<std::size_t>{2, 2, 2, 2, 2, 2, 3, 3});
  for (const auto& t : r.trials_run) {
    if (t.protocol != "loso") continue;
    CAPTURE(t.setting);
    if (t.setting == "synth-real") {
      CHECK(!t.leaking);
      CHECK(t.test_images == real.size());
      CHECK(t.folds.size() == 4);
    }
    if (t.setting == "synth-synth") {
      // Each generator's synthetic test split once: 2 entries, named after the generators.
      REQUIRE(t.folds.size() == 2);
      CHECK(t.folds[0].name == r.generators[1].fold);
      CHECK(t.folds[1].name == r.generators[2].fold);
    }
    if (t.setting == "synth-real" || t.setting == "synth-synth") {
      // Trained once per generator: each generator's 80 % counted once.
      std::int64_t expected = 0;
      for (std::size_t g = 1; g < 3; ++g) {
        std::int64_t n = 0;
        for (const auto c : r.generators[g].synthetic_counts) n += c;
        expected += n - static_cast<std::int64_t>(std::llround(0.2 * static_cast<double>(n)));
      }
      CHECK(std::abs(t.train_images - expected) <= 2);
    }
  }
  plan.generator_folds = 1;
  CHECK(testing::contains(testing::error_of([&] { plan.validate(); }), "--generator-folds must be 0"));
}

TEST_CASE("the CAS of every synth-real row: results.json, results.csv and results_per_class.csv, hand-computed") {
  // A stand-in whose answers are known: trained on real frames it is always right; trained on synthetic images it
  // always answers the first class. So real-real scores 1, synth-real the share of the first class among the
  // real test frames, and per class the recall ratio is 1 for the first class and 0 for every other.
  recording_services recorder;
  study_services services = recorder.services();
  services.train_and_test = [](const classifier_request& r) {
    const bool synthetic = testing::contains(r.label, "trained on synthetic");
    classifier_result out;
    for (const data::dataset_view& test : r.tests) {
      out.predictions.emplace_back();
      for (const auto& s : test) out.predictions.back().push_back(synthetic ? 0 : s.label);
    }
    return out;
  };
  const auto out = std::filesystem::temp_directory_path() / "fergen-test-study-runner-cas";
  std::filesystem::remove_all(out);
  study_plan plan;
  plan.backbones = {"resnet50"};
  plan.protocols = {protocol::random, protocol::loso};
  plan.trials = 2;
  plan.seed = 3;
  const study_results r = run_study(faces(), plan, services, out, {});
  REQUIRE(r.cas.size() == 2 * 2);  // protocols x trials, one backbone and configuration
  const auto counts = faces().class_counts();
  const double first_share = static_cast<double>(counts[0]) / static_cast<double>(faces().size());
  for (const auto& c : r.cas) {
    CAPTURE(c.protocol);
    CHECK(c.real_trained_accuracy == 1.0);
    std::int64_t test = 0;
    for (const auto& k : c.classes) test += k.test_images;
    // LOSO tests every real frame once; the random split a fifth of them, drawn per trial.
    if (c.protocol == "loso") {
      CHECK(test == faces().size());
      CHECK(c.classes[0].test_images == counts[0]);
      CHECK(*c.ratio == doctest::Approx(first_share));
    } else {
      CHECK(test == static_cast<std::int64_t>(std::ceil(0.2 * static_cast<double>(faces().size()))));
      CHECK(*c.ratio == doctest::Approx(static_cast<double>(c.classes[0].test_images) / static_cast<double>(test)));
    }
    CHECK(*c.ratio == doctest::Approx(c.synthetic_trained_accuracy));
    for (std::size_t k = 0; k < c.classes.size(); ++k) {
      if (c.classes[k].test_images == 0) continue;
      CHECK(*c.classes[k].real_trained_recall == 1.0);
      CHECK(*c.classes[k].synthetic_trained_recall == (k == 0 ? 1.0 : 0.0));
      CHECK(*c.classes[k].ratio == (k == 0 ? 1.0 : 0.0));
    }
  }
  // The files say the same.
  CHECK(read_results_json(out / "results.json").cas.size() == 4);
  const auto csv = data::read_csv(out / "results.csv");
  REQUIRE(csv[0].back() == "cas_ratio");
  std::int64_t with_cas = 0;
  for (std::size_t i = 1; i < csv.size(); ++i) {
    CHECK(csv[i].back().empty() == (csv[i][1] != "synth-real"));
    if (csv[i][0] == "loso" && csv[i][1] == "synth-real") CHECK(std::stod(csv[i].back()) == doctest::Approx(first_share).epsilon(1e-5));
    with_cas += !csv[i].back().empty();
  }
  CHECK(with_cas == 4);
  const auto per_class = data::read_csv(out / "results_per_class.csv");
  CHECK(per_class.size() == 1 + 4 * static_cast<std::size_t>(faces().class_count()));
}

TEST_CASE("study: a synthetic set given to every generator is one allocation; classifiers read it and the real frames in place") {
  // `fergen evaluate --synthetic`: every generator of the run returns the same set. The runner keeps a handle per
  // generator and hands the classifiers views: no copy of either set, however many generators share it.
  const auto given = std::make_shared<const data::dataset>(faces());
  recording_services recorder;
  study_services services = recorder.services();
  services.synthetic_given = true;
  std::int64_t generators = 0;
  services.train_generator = [&](const data::dataset_view&, const std::string&, std::uint64_t) {
    ++generators;
    return generated_set{given, {}, std::nullopt};
  };
  std::set<const data::dataset*> read;
  long most_handles = 0;
  services.train_and_test = [&](const classifier_request& r) {
    read.insert(&r.train.source());
    for (const auto& t : r.tests) read.insert(&t.source());
    most_handles = std::max(most_handles, given.use_count());
    return nearest_mean(r);
  };
  const auto out = std::filesystem::temp_directory_path() / "fergen-test-study-runner-shared";
  std::filesystem::remove_all(out);
  study_plan plan;
  plan.backbones = {"resnet50"};
  plan.protocols = {protocol::loso};
  plan.trials = 2;
  const study_results r = run_study(faces(), plan, services, out, {});
  CHECK(generators == 4);  // one per LOSO fold
  CHECK(read == std::set<const data::dataset*>{&faces(), given.get()});
  CHECK(most_handles == 1 + 4);  // this test's and one per generator, all of one allocation
  CHECK(given.use_count() == 1);  // the run keeps none
  for (const auto& t : r.trials_run)
    if (t.setting == "synth-real") CHECK(t.leaking);  // a given set may have seen the test subjects
}
