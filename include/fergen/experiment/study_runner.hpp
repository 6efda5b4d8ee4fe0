// fergen/experiment/study_runner.hpp: the study's grid run end to end: per protocol and fold a generator
// learns the fold's real training frames and makes a synthetic set; per trial, configuration, setting and
// backbone a classifier trains on one side and is tested on the other; every row records its protocol,
// its measured leakage and whether it can count as subject-independent.
//
// The runner knows nothing of diffusion models or backbones: it is given services (train a generator, train
// and test a classifier, extract features), so the same protocol logic runs the real study, a quick smoke
// run, and tests with stand-ins.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/image_io.hpp>
#include <fergen/data/leakage.hpp>
#include <fergen/data/split.hpp>
#include <fergen/eval/classification_metrics.hpp>
#include <fergen/experiment/cas.hpp>
#include <fergen/experiment/folds.hpp>
#include <fergen/experiment/results_json.hpp>
#include <fergen/experiment/study_plan.hpp>
#include <fergen/experiment/study_results.hpp>
#include <fergen/experiment/synthetic_quality.hpp>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

// What a generator service returns: the synthetic set (labels in the real set's class order), its record
// (steps, loss curve, counts; the runner fills protocol, fold and the grid's path) and a per-class sample grid.
struct generated_set {
  data::dataset images;
  generator_record record;
  std::optional<data::image> sample_grid;
};

// One classifier trained on `train` and tested on each of `tests`. The settings that train on the same side
// (real-real and real-synth; synth-synth and synth-real) share their classifier: training twice with the same
// seed would give the same network, so the runner asks once and tests it on every set.
struct classifier_request {
  std::string backbone;
  configuration config = configuration::baseline;
  const data::dataset* train = nullptr;
  std::vector<const data::dataset*> tests;
  std::uint64_t seed = 0;
  std::string label;  // for progress lines: "random all, trial 1, real-real, vgg16, baseline"
};

struct classifier_result {
  std::vector<std::vector<std::int64_t>> predictions;  // per test set, one per image in the set's order
  std::vector<epoch_record> history;
};

struct study_services {
  std::function<generated_set(const data::dataset& train, const std::string& label, std::uint64_t seed)> train_generator;
  std::function<classifier_result(const classifier_request&)> train_and_test;
  std::function<quality_features(const data::dataset& real_train, const data::dataset& synthetic, std::uint64_t seed)>
      features;  // optional: without it, the quality section has pixel-space memorisation only
  // The synthetic set was made elsewhere (`fergen evaluate --synthetic`): which subjects its generator learned
  // is unknown, so no row that trains on it counts as subject-independent.
  bool synthetic_given = false;
  std::function<void(const std::string&)> log = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
};

namespace detail {

inline std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

inline std::string seconds_text(double s) {
  char b[32];
  if (s < 90) {
    std::snprintf(b, sizeof b, "%.0f s", s);
  } else {
    std::snprintf(b, sizeof b, "%.0f min %02.0f s", std::floor(s / 60), std::fmod(s, 60.0));
  }
  return b;
}

}  // namespace detail

// Runs the plan on the real frames; writes results.json (after every finished cell, so an interrupted
// run keeps what it did), results.csv, results_per_class.csv (the per-class CAS) and the sample grids (figures/)
// into `out`. The report is written by experiment::write_report from what this returns.
inline study_results run_study(const data::dataset& real, const study_plan& plan, const study_services& services,
                               const std::filesystem::path& out, study_results header) {
  namespace fs = std::filesystem;
  plan.validate();
  require(real.size() >= 10, "study: the real dataset has ", real.size(), " frames; at least 10 are needed");
  require(static_cast<bool>(services.train_and_test), "study: no classifier service");
  require(!plan.uses_synthetic() || static_cast<bool>(services.train_generator),
          "study: settings with synthetic images need a generator service");
  fs::create_directories(out / "figures");
  const auto class_count = real.class_count();
  study_results results = std::move(header);
  results.trials = plan.trials;
  results.seed = static_cast<std::int64_t>(plan.seed);
  results.class_names = real.class_names();
  results.real_class_counts = real.class_counts();
  results.subjects = static_cast<std::int64_t>(real.subjects().size());
  results.clips = static_cast<std::int64_t>(real.clips().size());
  auto log = [&](const std::string& line) {
    if (services.log) services.log(line);
  };
  auto warn = [&](const std::string& line) {
    log("warning: " + line);
    results.warnings.push_back(line);
  };

  const std::int64_t cells_total = static_cast<std::int64_t>(plan.protocols.size()) * plan.trials *
                                   static_cast<std::int64_t>(plan.configs.size() * plan.settings.size() *
                                                             plan.backbones.size());
  std::int64_t cells_done = 0;
  // The time left, from the average generator and the average cell so far (a cell's classifier may have been
  // trained by an earlier cell that shares it: the average covers both kinds).
  std::int64_t generators_total = 0, generators_done = 0;
  if (plan.uses_synthetic())
    for (const protocol prot : plan.protocols)
      generators_total += static_cast<std::int64_t>(
          plan_generators(real, plan_folds(real, prot, plan.seed, plan.folds, plan.test_fraction), plan.generator_folds)
              .size());
  double generator_seconds = 0, cell_seconds = 0;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  auto time_left = [&] {
    double left = static_cast<double>(cells_total - cells_done) * cell_seconds / static_cast<double>(cells_done);
    if (generators_done > 0)
      left += static_cast<double>(generators_total - generators_done) * generator_seconds /
              static_cast<double>(generators_done);
    return left;
  };

  for (const protocol prot : plan.protocols) {
    const std::string pname(name(prot));
    // Subject folds are drawn once; the random protocol's split is redrawn per trial below.
    const std::vector<fold_plan> fixed_folds = plan_folds(real, prot, plan.seed, plan.folds, plan.test_fraction);
    log(str("== protocol ", pname, ": ", describe(prot), "; ", fixed_folds.size(), " fold(s)"));

    // One generator per fold, or per group of folds (the random protocol's single generator learns every real
    // frame, as the study's); synthetic[g] is generator g's set and generator_of[f] fold f's generator.
    const std::vector<generator_plan> generators = plan_generators(real, fixed_folds, plan.generator_folds);
    std::vector<std::size_t> generator_of(fixed_folds.size(), 0);
    for (std::size_t gi = 0; gi < generators.size(); ++gi)
      for (const std::size_t f : generators[gi].folds) generator_of[f] = gi;
    std::vector<std::shared_ptr<const data::dataset>> synthetic(generators.size());
    if (plan.uses_synthetic()) {
      for (std::size_t gi = 0; gi < generators.size(); ++gi) {
        const generator_plan& gen = generators[gi];
        const data::dataset train = real.subset(gen.train);
        const std::string label = pname + " " + gen.name;
        const auto generator_start = elapsed();
        if (services.synthetic_given) {
          log(str("generator [", label, "]: the given synthetic set"));
        } else {
          log(str("generator [", label, "] (", generators_done + 1, " of ", generators_total, "): learning ", train.size(),
                  " real frames",
                  gen.sees_test ? std::string(" (every real frame, the test frames included, as the study)")
                                : str(" (without test subject(s) ", detail::joined(gen.held_out_subjects), ")")));
        }
        generated_set g = services.train_generator(train, label, plan.seed + 1000 * (gi + 1));
        require(g.images.class_names() == real.class_names(), "study: the generator of ", label,
                " returned classes that differ from the real set's");
        generator_record rec = std::move(g.record);
        rec.protocol = pname;
        rec.fold = gen.name;
        rec.train_images = train.size();
        rec.held_out_subjects = gen.held_out_subjects;
        rec.synthetic_counts = g.images.class_counts();
        if (g.sample_grid) {
          std::string stem = "samples_" + pname + "_" + gen.name;
          for (char& c : stem)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
          rec.sample_grid = "figures/" + stem + ".png";
          data::write_png(out / rec.sample_grid, *g.sample_grid);
        }
        results.generators.push_back(rec);

        // Quality against the frames this generator learned.
        std::optional<quality_features> feats;
        if (services.features) feats = services.features(train, g.images, plan.seed + 77);
        for (auto& q : measure_quality(train, g.images, feats, pname, gen.name, plan.seed))
          results.quality.push_back(std::move(q));
        const quality_record& all = results.quality[results.quality.size() - static_cast<std::size_t>(class_count) - 1];
        log(str("generator [", label, "]: ", g.images.size(), " synthetic images; memorised ",
                data::detail::percent(all.memorization_rate.value_or(0)),
                all.fid ? str("; FID ", all.fid.value(), " and KID ", all.kid_mean.value(), " in ", all.feature_space)
                        : std::string()));
        synthetic[gi] = std::make_shared<const data::dataset>(std::move(g.images));
        generator_seconds += elapsed() - generator_start;
        ++generators_done;
      }
    }

    for (std::int64_t trial = 1; trial <= plan.trials; ++trial) {
      const std::uint64_t trial_seed = plan.seed + 101 * static_cast<std::uint64_t>(trial);
      const std::vector<fold_plan> folds =
          prot == protocol::random ? plan_folds(real, prot, trial_seed, plan.folds, plan.test_fraction) : fixed_folds;
      // Each generator's synthetic set is split 80/20 per trial: synthetic images carry no subject to group by.
      std::vector<std::optional<data::split>> synthetic_split(generators.size());
      for (std::size_t g = 0; g < generators.size(); ++g)
        if (synthetic[g]) synthetic_split[g] = data::random_split(*synthetic[g], plan.test_fraction, trial_seed + g);
      // The leakage of the real split, measured, and said whenever it is not zero.
      std::vector<data::leakage_report> leakage;
      for (const auto& fold : folds) leakage.push_back(data::measure_leakage(real, fold.real));
      for (const auto& l : leakage)
        if (l.clip_overlap > 0 || l.subject_overlap > 0)
          if (trial == 1) warn(str("protocol ", pname, ": ", l.describe()));

      // A real-trained classifier per fold. A synthetic-trained one per generator: the folds that share a generator
      // share its training set, so one classifier serves them all (tested on each fold's real frames) instead of
      // one per fold that would differ only by its seed. Its synthetic test split is counted once, under the
      // generator's first fold.
      auto first_fold_of = [&](std::size_t g) { return generators[g].folds.front(); };
      struct trained_classifier {
        // (setting, fold) -> predicted and true labels of that fold's test set for the setting
        std::map<std::pair<setting, std::size_t>, std::vector<std::int64_t>> predictions, truth;
        std::vector<epoch_record> history;
        std::int64_t train_images = 0;
      };
      std::map<std::tuple<configuration, std::string, bool, std::size_t>, trained_classifier> trained;
      auto classifier_for = [&](configuration config, const std::string& backbone, setting set,
                                std::size_t f) -> const trained_classifier& {
        const bool synthetic_train = trains_on_synthetic(set);
        const std::size_t g = generator_of[f];
        const auto key = std::make_tuple(config, backbone, synthetic_train, synthetic_train ? g : f);
        if (auto it = trained.find(key); it != trained.end()) return it->second;
        // What this classifier is tested on: per setting of the plan that trains on its side, the test sets of
        // the folds it serves.
        const std::vector<std::size_t> served = synthetic_train ? generators[g].folds : std::vector<std::size_t>{f};
        std::vector<std::pair<setting, std::size_t>> test_keys;
        std::vector<data::dataset> tests;
        for (const setting s : plan.settings) {
          if (trains_on_synthetic(s) != synthetic_train) continue;
          if (tests_on_synthetic(s)) {
            test_keys.emplace_back(s, synthetic_train ? first_fold_of(g) : f);
            tests.push_back(synthetic[g]->subset(synthetic_split[g]->test));
          } else {
            for (const std::size_t t : served) {
              test_keys.emplace_back(s, t);
              tests.push_back(real.subset(folds[t].real.test));
            }
          }
        }
        const std::size_t seed_fold = synthetic_train ? first_fold_of(g) : f;  // both sides of a fold: one seed
        const data::dataset train = synthetic_train ? synthetic[g]->subset(synthetic_split[g]->train)
                                                    : real.subset(folds[f].real.train);
        classifier_request request{backbone, config, &train, {},
                                   trial_seed + 7919 * static_cast<std::uint64_t>(seed_fold + 1),
                                   str(pname, " ", synthetic_train ? generators[g].name : folds[f].name, ", trial ",
                                       trial, ", trained on ", synthetic_train ? "synthetic" : "real", ", ", backbone,
                                       ", ", name(config))};
        for (const auto& t : tests) request.tests.push_back(&t);
        classifier_result result = services.train_and_test(request);
        require(result.predictions.size() == tests.size(), "study: the classifier of ", request.label, " returned ",
                result.predictions.size(), " prediction sets for ", tests.size(), " test sets");
        trained_classifier made;
        for (std::size_t i = 0; i < tests.size(); ++i) {
          require(result.predictions[i].size() == static_cast<std::size_t>(tests[i].size()), "study: the classifier of ",
                  request.label, " returned ", result.predictions[i].size(), " predictions for ", tests[i].size(),
                  " test images");
          for (const std::int64_t p : result.predictions[i])
            require(p >= 0 && p < class_count, "study: prediction ", p, " is not a class");
          made.predictions[test_keys[i]] = std::move(result.predictions[i]);
          for (const auto& sample : tests[i]) made.truth[test_keys[i]].push_back(sample.label);
        }
        made.history = std::move(result.history);
        made.train_images = train.size();
        return trained.emplace(key, std::move(made)).first->second;
      };

      for (const configuration config : plan.configs)
        for (const setting set : plan.settings)
          for (const std::string& backbone : plan.backbones) {
            const auto cell_start = elapsed();
            trial_record rec;
            rec.protocol = pname;
            rec.setting = std::string(name(set));
            rec.backbone = backbone;
            rec.config = std::string(name(config));
            rec.trial = trial;
            std::vector<std::int64_t> truth, predicted;  // pooled over folds
            double clip_shared = 0, subject_shared = 0;
            for (std::size_t f = 0; f < folds.size(); ++f) {
              const trained_classifier& classifier = classifier_for(config, backbone, set, f);
              // A classifier shared by several folds counts its training set once.
              if (!trains_on_synthetic(set) || f == first_fold_of(generator_of[f]))
                rec.train_images += classifier.train_images;
              if (f == 0) rec.history = classifier.history;
              // Synthetic test images are counted once per generator, under its first fold.
              const auto tested = classifier.predictions.find({set, f});
              if (tested == classifier.predictions.end()) continue;
              // The test set's labels were kept when the classifier was tested: no second copy of its images.
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
              const bool synthetic_test = set == setting::synth_synth || set == setting::real_synth;
              rec.folds.push_back({set == setting::synth_synth ? generators[generator_of[f]].name : folds[f].name,
                                   synthetic_test ? std::vector<std::string>{} : folds[f].test_subjects, test_size,
                                   test_size > 0 ? static_cast<double>(correct) / static_cast<double>(test_size) : 0.0});
              clip_shared += leakage[f].clip_overlap * static_cast<double>(test_size);
              subject_shared += leakage[f].subject_overlap * static_cast<double>(test_size);
            }
            // Pooled over folds, as MEGC 2019 scores LOSO: every real frame once in one confusion matrix.
            const auto m = eval::classification_metrics::compute(truth, predicted, class_count);
            rec.accuracy = m.accuracy;
            rec.uf1 = m.uf1;
            rec.uar = m.uar;
            for (std::int64_t t = 0; t < class_count; ++t) {
              rec.confusion.emplace_back();
              for (std::int64_t q = 0; q < class_count; ++q) rec.confusion.back().push_back(m.count(t, q));
            }
            // Leakage: measured on the real split when both sides are real; by construction otherwise.
            if (set == setting::real_real) {
              rec.clip_overlap = clip_shared / static_cast<double>(rec.test_images);
              rec.subject_overlap = subject_shared / static_cast<double>(rec.test_images);
            }
            rec.generator_saw_test_subjects =
                set == setting::synth_real && (folds.front().generator_sees_test || services.synthetic_given);
            if (set == setting::real_real && (*rec.clip_overlap > 0 || *rec.subject_overlap > 0)) {
              rec.leaking = true;
              rec.leak_reason = str(data::detail::percent(*rec.clip_overlap), " of test frames share a clip and ",
                                    data::detail::percent(*rec.subject_overlap), " a subject with training");
            } else if (rec.generator_saw_test_subjects) {
              rec.leaking = true;
              rec.leak_reason = services.synthetic_given
                                    ? "the synthetic set was given; its generator may have learned the test subjects"
                                    : "the generator learned every real frame, the test frames included";
            } else if (tests_on_synthetic(set)) {
              rec.leaking = true;
              rec.leak_reason = set == setting::synth_synth
                                    ? "synthetic images split at random: they carry no subject to keep apart"
                                    : "tests on synthetic images made from the classifier's own training subjects";
            }
            results.trials_run.push_back(rec);
            results.cas = compute_cas(results);
            write_results_json(out / "results.json", results);
            // A synth-real row's CAS ratio, once its real-real twin has run (the plan's order usually has it first).
            std::string cas_text;
            if (set == setting::synth_real)
              for (const auto& c : results.cas)
                if (c.protocol == pname && c.backbone == backbone && c.config == rec.config && c.trial == trial && c.ratio)
                  cas_text = str(", CAS ratio ", std::round(*c.ratio * 100) / 100, " (/ real-real ",
                                 data::detail::percent(c.real_trained_accuracy), ")");
            ++cells_done;
            const double now = elapsed();
            cell_seconds += now - cell_start;
            const double eta = time_left();
            log(str("[", cells_done, "/", cells_total, "] ", pname, " trial ", trial, ": ", rec.setting, ", ", backbone,
                    ", ", rec.config, ": accuracy ", data::detail::percent(rec.accuracy), ", UF1 ",
                    std::round(rec.uf1 * 1000) / 1000, ", UAR ", std::round(rec.uar * 1000) / 1000, cas_text, " (",
                    rec.test_images, " test images; ", detail::seconds_text(now - cell_start), "; elapsed ",
                    detail::seconds_text(now), ", about ", detail::seconds_text(eta), " left)",
                    rec.leaking ? " [leaks: " + rec.leak_reason + "]" : std::string()));
          }
    }
  }
  results.cas = compute_cas(results);
  write_results_json(out / "results.json", results);
  write_results_csv(out / "results.csv", results);
  write_results_per_class_csv(out / "results_per_class.csv", results);
  return results;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
