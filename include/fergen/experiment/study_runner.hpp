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
#include <fergen/core/shard.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/leakage.hpp>
#include <fergen/experiment/cas.hpp>
#include <fergen/experiment/folds.hpp>
#include <fergen/experiment/generator_store.hpp>
#include <fergen/experiment/results_json.hpp>
#include <fergen/experiment/study_cells.hpp>
#include <fergen/experiment/study_classifiers.hpp>
#include <fergen/experiment/study_contract.hpp>
#include <fergen/experiment/study_generators.hpp>
#include <fergen/experiment/study_manifest.hpp>
#include <fergen/experiment/study_plan.hpp>
#include <fergen/experiment/study_progress.hpp>
#include <fergen/experiment/study_results.hpp>
#include <fergen/experiment/study_shards.hpp>
#include <fergen/experiment/study_work.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
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

// What part of the grid a run does, and what it finds done. The default: all of it, from scratch, generators
// kept in memory only.
struct study_run_options {
  // The units (study_work.hpp's keys) this process runs; none given: every unit (a shard may have none).
  std::optional<std::set<std::string>> units;
  // Where generators are kept and looked up (generator_store.hpp); null: trained here and kept in memory.
  const generator_store* store = nullptr;
  // Generators ("protocol/fold") to train first, before any cell: a shard's share of a shared folder's training.
  std::vector<std::string> train_first;
  // Results of an earlier run of the same plan and shard: its cells are skipped, its generators not recorded again.
  std::optional<study_results> resume;
};

// What a shard's assignment decides of its run: its units (when the grid is split) and, with a shared generator
// folder, the generators it trains before its cells. Every process of a run computes the same.
inline study_run_options shard_run_options(const study_work& w, const shard_assignment& a, fergen::shard part) {
  study_run_options o;
  if (!part.sharded()) return o;
  o.units.emplace();
  for (const std::size_t u : a.units_of(part.index)) o.units->insert(w.units[u].key());
  for (std::size_t g = 0; g < w.generators.size(); ++g)
    if (a.generator_shard[g] == part.index) o.train_first.push_back(w.generators[g].key());
  return o;
}

namespace detail {

// A protocol's folds and generators, planned before any work.
struct protocol_state {
  protocol prot;
  std::string name;
  std::vector<fold_plan> fixed_folds;
  protocol_generators gens;

  std::string generator_key(std::size_t g) const { return name + "/" + gens.plans[g].name; }  // as study_work's
};

// The units' cells this run still has to do.
class cell_selection {
 public:
  cell_selection(const study_run_options& o, const study_results& done) : units_(o.units) {
    for (const auto& r : done.trials_run) done_.insert(row_key(r));
  }
  bool wanted(const std::string& p, std::int64_t trial, configuration config, setting set, const std::string& b) const {
    return (!units_ || units_->contains(unit_key(p, trial, name(config), b))) &&
           !done_.contains(row_key(p, trial, std::string(name(config)), std::string(name(set)), b));
  }
  // Whether any cell of the protocol (and trial, when given) is wanted.
  bool any(const study_plan& plan, const std::string& p, std::int64_t trial = 0) const {
    for (std::int64_t t = 1; t <= plan.trials; ++t)
      for (const configuration c : plan.configs)
        for (const setting s : plan.settings)
          for (const std::string& b : plan.backbones)
            if ((trial == 0 || t == trial) && wanted(p, t, c, s, b)) return true;
    return false;
  }
  std::int64_t count(const study_plan& plan) const {
    std::int64_t n = 0;
    for (const protocol prot : plan.protocols)
      for (std::int64_t t = 1; t <= plan.trials; ++t)
        for (const configuration c : plan.configs)
          for (const setting s : plan.settings)
            for (const std::string& b : plan.backbones) n += wanted(std::string(name(prot)), t, c, s, b);
    return n;
  }

 private:
  std::optional<std::set<std::string>> units_;
  std::set<std::string> done_;
};

// Generator g of a protocol, from the store when one holds it (published by another shard, or by this run before a
// restart), else trained here (and published, when there is a store). Waits while another process trains it.
inline trained_generator obtain_generator(const data::dataset& real, const protocol_state& p, std::size_t g,
                                          const study_plan& plan, const study_services& services,
                                          const generator_store* store, study_progress& progress) {
  const generator_plan& gen = p.gens.plans[g];
  const auto start = progress.elapsed();
  if (store == nullptr) {
    trained_generator t = train_generator(real, gen, g, p.name, plan, services, progress);
    progress.generator_done(progress.elapsed() - start);
    return t;
  }
  const std::string folder = generator_stem(p.name, gen.name);
  bool said = false;
  for (;;) {
    if (std::optional<trained_generator> t = store->load(folder, real.class_names())) {
      log_line(services, str("generator [", p.name, " ", gen.name, "]: read from ", (store->dir() / folder).string()));
      progress.generator_found();
      return std::move(*t);
    }
    if (auto claim = store->try_claim(folder)) {
      trained_generator t = train_generator(real, gen, g, p.name, plan, services, progress);
      store->publish(folder, t, real.class_names());
      progress.generator_done(progress.elapsed() - start);
      return t;
    }
    if (!said)
      log_line(services, str("generator [", p.name, " ", gen.name, "]: waiting for ", store->claim_holder(folder),
                             ", which is training it into ", (store->dir() / folder).string()));
    said = true;
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
}

}  // namespace detail

// Runs the plan on the real frames (all of it, or the units of `options`); writes results.json (after every
// finished cell, so an interrupted run keeps what it did, and a restarted one skips it), results.csv,
// results_per_class.csv (the per-class CAS) and the sample grids (figures/) into `out`. The report is written by
// experiment::write_report from what this returns.
inline study_results run_study(const data::dataset& real, const study_plan& plan, const study_services& services,
                               const std::filesystem::path& out, study_results header,
                               const study_run_options& options = {}) {
  detail::check_study_inputs(real, plan, services);
  std::filesystem::create_directories(out / "figures");
  study_results results = options.resume ? *options.resume : detail::begin_results(real, plan, std::move(header));
  const detail::cell_selection cells(options, results);
  std::set<std::string> recorded;  // generators in the results
  for (const auto& g : results.generators) recorded.insert(g.protocol + "/" + g.fold);

  // Every protocol planned first: its folds are drawn once (the random protocol's split is redrawn per trial).
  std::vector<detail::protocol_state> protocols;
  std::set<std::string> to_obtain(options.train_first.begin(), options.train_first.end());
  for (const protocol prot : plan.protocols) {
    detail::protocol_state p{prot, std::string(name(prot)), {}, {}};
    p.fixed_folds = plan_folds(real, prot, plan.seed, plan.folds, plan.test_fraction);
    p.gens = plan_protocol_generators(real, p.fixed_folds, plan);
    if (plan.uses_synthetic() && cells.any(plan, p.name))
      for (std::size_t g = 0; g < p.gens.plans.size(); ++g) to_obtain.insert(p.generator_key(g));
    protocols.push_back(std::move(p));
  }
  study_progress progress(cells.count(plan), plan.uses_synthetic() ? static_cast<std::int64_t>(to_obtain.size()) : 0);
  if (options.resume)
    log_line(services, str("resuming: ", results.trials_run.size(), " cell(s) done in ", (out / "results.json").string(),
                           ", ", progress.cells_total(), " to go"));

  // A shard's share of the generators of a shared folder, trained before its cells so that no shard waits long;
  // kept for its own cells when it has some of their protocol.
  std::map<std::string, trained_generator> trained_first;
  if (plan.uses_synthetic() && options.store != nullptr)
    for (const detail::protocol_state& p : protocols)
      for (std::size_t g = 0; g < p.gens.plans.size(); ++g)
        if (std::find(options.train_first.begin(), options.train_first.end(), p.generator_key(g)) !=
            options.train_first.end()) {
          trained_generator t = detail::obtain_generator(real, p, g, plan, services, options.store, progress);
          if (cells.any(plan, p.name)) trained_first.emplace(p.generator_key(g), std::move(t));
        }

  for (detail::protocol_state& p : protocols) {
    const bool work = cells.any(plan, p.name);
    if (work)
      log_line(services, str("== protocol ", p.name, ": ", describe(p.prot), "; ", p.fixed_folds.size(), " fold(s)"));
    // The leakage of the real split, measured, and said whenever it is not zero (by every shard: it is the plan's).
    for (const auto& l : trial_leakage(real, p.prot, p.fixed_folds, plan, 1))
      if (l.clip_overlap > 0 || l.subject_overlap > 0) {
        const std::string warning = str("protocol ", p.name, ": ", l.describe());
        if (std::find(results.warnings.begin(), results.warnings.end(), warning) != results.warnings.end()) continue;
        log_line(services, "warning: " + warning);
        results.warnings.push_back(warning);
      }
    if (!work) continue;
    if (plan.uses_synthetic())
      for (std::size_t g = 0; g < p.gens.plans.size(); ++g) {
        const auto first = trained_first.find(p.generator_key(g));
        trained_generator t = first != trained_first.end()
                                  ? std::move(first->second)
                                  : detail::obtain_generator(real, p, g, plan, services, options.store, progress);
        if (recorded.insert(p.generator_key(g)).second) detail::record_generator(t, out, results);
        p.gens.sets[g] = std::move(t.images);
      }

    for (std::int64_t trial = 1; trial <= plan.trials; ++trial) {
      if (!cells.any(plan, p.name, trial)) continue;
      const trial_data t = plan_trial(real, p.prot, p.fixed_folds, p.gens, plan, trial);
      trial_classifiers classifiers(real, plan, p.gens, t, p.name, services);
      for (const configuration config : plan.configs)
        for (const setting set : plan.settings)
          for (const std::string& backbone : plan.backbones) {
            if (!cells.wanted(p.name, trial, config, set, backbone)) continue;
            const double cell_start = progress.elapsed();
            results.trials_run.push_back(score_cell(p.name, p.gens, t, classifiers, config, set, backbone,
                                                    real.class_count(), services.synthetic_given));
            results.cas = compute_cas(results);
            write_results_json(out / "results.json", results);
            const double cell_seconds = progress.elapsed() - cell_start;
            progress.cell_done(cell_seconds);
            log_line(services, detail::cell_line(results, results.trials_run.back(), progress, cell_seconds));
          }
    }
    p.gens.sets.assign(p.gens.sets.size(), nullptr);  // the protocol's sets are not needed again
  }
  results.cas = compute_cas(results);
  write_results_json(out / "results.json", results);
  write_results_csv(out / "results.csv", results);
  write_results_per_class_csv(out / "results_per_class.csv", results);
  return results;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
