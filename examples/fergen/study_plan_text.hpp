// fergen study --plan-only: the grid's size and the hours it takes, printed before anything is trained, so that a
// user can size a cluster job (and, with --shard I/N, see each shard's share).
#pragma once

#include <fergen/data/csv.hpp>
#include <fergen/experiment/study_estimate.hpp>
#include <fergen/experiment/study_presets.hpp>
#include <fergen/experiment/study_progress.hpp>
#include <fergen/experiment/study_shards.hpp>
#include <fergen/experiment/study_work.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>

namespace fergen::tool {

// "1234.5 h", or under an hour study_progress's "3 min 05 s".
inline std::string hours_text(double seconds) {
  if (seconds < 3600) return experiment::seconds_text(seconds);
  char b[32];
  std::snprintf(b, sizeof b, "%.1f h", seconds / 3600.0);
  return b;
}

inline void print_plan(const experiment::study_preset& p, const experiment::study_work& w,
                       const experiment::estimate_settings& es, const experiment::throughput_table& t,
                       const experiment::shard_assignment& a) {
  using namespace experiment;
  const study_plan& plan = p.plan;
  std::printf("grid: %zu protocol(s) x %lld trial(s) x %zu configuration(s) x %zu backbone(s) = %zu units of %lld "
              "setting(s): %lld cells\n",
              plan.protocols.size(), static_cast<long long>(plan.trials), plan.configs.size(), plan.backbones.size(),
              w.units.size(), static_cast<long long>(w.settings), static_cast<long long>(w.cells()));
  std::int64_t min_steps = 0, max_steps = 0;
  for (const auto& g : w.generators) {
    const std::int64_t steps = es.generator.training_steps(g.train_frames, es.generator_batch, es.generator_steps);
    min_steps = min_steps == 0 ? steps : std::min(min_steps, steps);
    max_steps = std::max(max_steps, steps);
  }
  std::string per_protocol;
  for (const auto prot : plan.protocols) {
    const auto n = std::count_if(w.generators.begin(), w.generators.end(),
                                 [&](const generator_work& g) { return g.protocol == name(prot); });
    per_protocol += str(per_protocol.empty() ? "" : ", ", name(prot), " ", n);
  }
  if (w.generators.empty()) {
    std::printf("generator trainings: none (no setting uses synthetic images)\n");
  } else {
    std::printf("generator trainings: %zu (%s): %s steps of %lld at %lldx%lld, %lld images each by %lld sampling "
                "steps\n",
                w.generators.size(), per_protocol.c_str(),
                min_steps == max_steps ? str(min_steps).c_str() : str(min_steps, "-", max_steps).c_str(),
                static_cast<long long>(es.generator_batch), static_cast<long long>(es.generator.image_size),
                static_cast<long long>(es.generator.image_size), static_cast<long long>(w.generators.front().images),
                static_cast<long long>(es.sampling_steps));
  }
  std::int64_t real_side = 0, synthetic_side = 0;
  for (const auto& u : w.units)
    for (const auto& c : u.classifiers) (c.synthetic ? synthetic_side : real_side) += 1;
  std::printf("classifier trainings: %lld (%lld on real frames, %lld on synthetic images), %lld epochs, %s backbones\n",
              static_cast<long long>(w.classifier_trainings()), static_cast<long long>(real_side),
              static_cast<long long>(synthetic_side), static_cast<long long>(es.classifier.epochs),
              es.classifier.size.c_str());

  std::printf("\nestimate from %s, each network's images per second scaled by pixel count to the run's sizes:\n",
              t.source.c_str());
  std::printf("%s", data::format_csv(throughput_rows(t)).c_str());
  double generators = 0, classifiers = 0;
  for (const auto& g : w.generators) generators += generator_seconds(g, es, t);
  for (const auto& u : w.units) classifiers += unit_seconds(u, es, t);
  std::printf("  generators (training, sampling, a feature classifier each): %s\n", hours_text(generators).c_str());
  std::printf("  classifiers (training and testing):                         %s\n", hours_text(classifiers).c_str());
  std::printf("  total:                                                      %s of that machine\n",
              hours_text(generators + classifiers).c_str());
  std::printf("  (--throughput FILE takes figures measured on yours, in the CSV form above: the benchmarks' img/s, "
              "README \"Performance\")\n");
  if (a.count > 1) {
    const bool shared = !a.generator_shard.empty() && a.generator_shard.front() >= 0;
    std::printf("\n%lld shards (--shard I/%lld), %s:\n", static_cast<long long>(a.count), static_cast<long long>(a.count),
                shared ? "sharing a generator folder (--generators DIR): each generator trained once, first by the "
                         "shard named here"
                       : "without a shared generator folder: each shard trains every generator its units read");
    for (std::int64_t s = 0; s < a.count; ++s) {
      double first = 0;
      std::int64_t trained = 0;
      for (std::size_t g = 0; g < a.generator_shard.size(); ++g)
        if (a.generator_shard[g] == s) {
          first += a.generator_cost[g];
          ++trained;
        }
      const auto units = a.units_of(s);
      std::printf("  %lld/%lld: %zu unit(s), %lld cells, classifiers %s", static_cast<long long>(s),
                  static_cast<long long>(a.count), units.size(),
                  static_cast<long long>(static_cast<std::int64_t>(units.size()) * w.settings),
                  hours_text(a.classifier_seconds_of(s)).c_str());
      if (shared)
        std::printf("; %lld generator(s), %s; %s in all", static_cast<long long>(trained), hours_text(first).c_str(),
                    hours_text(a.classifier_seconds_of(s) + first).c_str());
      std::printf("\n");
    }
  }
}

}  // namespace fergen::tool
