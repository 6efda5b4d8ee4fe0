// fergen/experiment/study_runner.hpp: the study's grid run end to end, in phases: per protocol its folds and
// generators (study_generators.hpp: each learns its folds' real training frames and makes a synthetic set); per
// trial the folds' and synthetic sets' splits, and per configuration, setting and backbone a cell whose
// classifiers (study_classifiers.hpp) train on one side and are tested on the other; every row (study_cells.hpp)
// records its protocol, its measured leakage and whether it can count as subject-independent.
//
// The runner knows nothing of diffusion models or backbones: it is given services (study_contract.hpp: train a
// generator, train and test a classifier, extract features), so the same protocol logic runs the real study, a
// quick smoke run, and tests with stand-ins.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/leakage.hpp>
#include <fergen/experiment/cas.hpp>
#include <fergen/experiment/folds.hpp>
#include <fergen/experiment/results_json.hpp>
#include <fergen/experiment/study_cells.hpp>
#include <fergen/experiment/study_classifiers.hpp>
#include <fergen/experiment/study_contract.hpp>
#include <fergen/experiment/study_generators.hpp>
#include <fergen/experiment/study_plan.hpp>
#include <fergen/experiment/study_progress.hpp>
#include <fergen/experiment/study_results.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

namespace detail {

// Everything run_study can refuse, before any work.
inline void check_study_inputs(const data::dataset& real, const study_plan& plan, const study_services& services) {
  plan.validate();
  require(real.size() >= 10, "study: the real dataset has ", real.size(), " frames; at least 10 are needed");
  require(static_cast<bool>(services.train_and_test), "study: no classifier service");
  require(!plan.uses_synthetic() || static_cast<bool>(services.train_generator),
          "study: settings with synthetic images need a generator service");
}

// The header of the results: what the run was asked and what the real frames are.
inline study_results begin_results(const data::dataset& real, const study_plan& plan, study_results header) {
  study_results results = std::move(header);
  results.trials = plan.trials;
  results.seed = static_cast<std::int64_t>(plan.seed);
  results.class_names = real.class_names();
  results.real_class_counts = real.class_counts();
  results.subjects = static_cast<std::int64_t>(real.subjects().size());
  results.clips = static_cast<std::int64_t>(real.clips().size());
  return results;
}

// A cell's progress line: its scores, a synth-real row's CAS ratio (once its real-real twin has run; the plan's
// order usually has it first), and the time.
inline std::string cell_line(const study_results& results, const trial_record& rec, const study_progress& progress,
                             double cell_seconds) {
  std::string cas_text;
  if (rec.setting == name(setting::synth_real))
    for (const auto& c : results.cas)
      if (c.protocol == rec.protocol && c.backbone == rec.backbone && c.config == rec.config &&
          c.trial == rec.trial && c.ratio)
        cas_text = str(", CAS ratio ", std::round(*c.ratio * 100) / 100, " (/ real-real ",
                       data::detail::percent(c.real_trained_accuracy), ")");
  return str("[", progress.cells_done(), "/", progress.cells_total(), "] ", rec.protocol, " trial ", rec.trial, ": ",
             rec.setting, ", ", rec.backbone, ", ", rec.config, ": accuracy ", data::detail::percent(rec.accuracy),
             ", UF1 ", std::round(rec.uf1 * 1000) / 1000, ", UAR ", std::round(rec.uar * 1000) / 1000, cas_text, " (",
             rec.test_images, " test images; ", seconds_text(cell_seconds), "; elapsed ",
             seconds_text(progress.elapsed()), ", about ", seconds_text(progress.time_left()), " left)",
             rec.leaking ? " [leaks: " + rec.leak_reason + "]" : std::string());
}

}  // namespace detail

// Runs the plan on the real frames; writes results.json (after every finished cell, so an interrupted
// run keeps what it did), results.csv, results_per_class.csv (the per-class CAS) and the sample grids (figures/)
// into `out`. The report is written by experiment::write_report from what this returns.
inline study_results run_study(const data::dataset& real, const study_plan& plan, const study_services& services,
                               const std::filesystem::path& out, study_results header) {
  detail::check_study_inputs(real, plan, services);
  std::filesystem::create_directories(out / "figures");
  study_results results = detail::begin_results(real, plan, std::move(header));
  study_progress progress(real, plan);

  for (const protocol prot : plan.protocols) {
    const std::string pname(name(prot));
    // Subject folds are drawn once; the random protocol's split is redrawn per trial (plan_trial).
    const std::vector<fold_plan> fixed_folds = plan_folds(real, prot, plan.seed, plan.folds, plan.test_fraction);
    log_line(services, str("== protocol ", pname, ": ", describe(prot), "; ", fixed_folds.size(), " fold(s)"));
    const protocol_generators gens = train_generators(real, fixed_folds, pname, plan, services, out, results, progress);

    for (std::int64_t trial = 1; trial <= plan.trials; ++trial) {
      const trial_data t = plan_trial(real, prot, fixed_folds, gens, plan, trial);
      // The leakage of the real split, measured, and said whenever it is not zero.
      if (trial == 1)
        for (const auto& l : t.leakage)
          if (l.clip_overlap > 0 || l.subject_overlap > 0) {
            const std::string warning = str("protocol ", pname, ": ", l.describe());
            log_line(services, "warning: " + warning);
            results.warnings.push_back(warning);
          }
      trial_classifiers classifiers(real, plan, gens, t, pname, services);
      for (const configuration config : plan.configs)
        for (const setting set : plan.settings)
          for (const std::string& backbone : plan.backbones) {
            const double cell_start = progress.elapsed();
            results.trials_run.push_back(score_cell(pname, gens, t, classifiers, config, set, backbone,
                                                    real.class_count(), services.synthetic_given));
            results.cas = compute_cas(results);
            write_results_json(out / "results.json", results);
            const double cell_seconds = progress.elapsed() - cell_start;
            progress.cell_done(cell_seconds);
            log_line(services, detail::cell_line(results, results.trials_run.back(), progress, cell_seconds));
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
