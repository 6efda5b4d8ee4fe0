// fergen/experiment/study_shards.hpp: the study's grid split into n shards, one per process (a Slurm array task,
// a GPU, a machine), from the plan alone: every process of a run computes the same split, whatever its machine.
// The units (study_work.hpp) go out by estimated cost, largest first, each to the shard with the least work so far
// (Graham's LPT rule: within 4/3 of the best balance). Under a subject protocol every unit reads all of the
// protocol's generators, so generators are shared, not split: with a shared generator folder (generator_store.hpp)
// each is trained once, first by the shard it is assigned to here (generators go out before the units, by the same
// rule), and read by the others; without one, every shard trains the generators its units read.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/shard.hpp>
#include <fergen/experiment/study_estimate.hpp>
#include <fergen/experiment/study_work.hpp>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

struct shard_assignment {
  std::vector<std::int64_t> unit_shard;       // per unit of the work list, its shard
  std::vector<std::int64_t> generator_shard;  // per generator, the shard that trains it first (shared folder)
  std::vector<double> unit_cost;         // per unit, estimated seconds (study_estimate.hpp's reference figures)
  std::vector<double> generator_cost;    // per generator, the same
  std::int64_t count = 1;

  std::vector<std::size_t> units_of(std::int64_t shard) const {
    std::vector<std::size_t> out;
    for (std::size_t u = 0; u < unit_shard.size(); ++u)
      if (unit_shard[u] == shard) out.push_back(u);
    return out;
  }
  // The generators shard s reads: those of every protocol it has a unit of.
  std::vector<std::size_t> generators_of(const study_work& w, std::int64_t shard) const {
    std::vector<bool> needed(w.generators.size(), false);
    for (const std::size_t u : units_of(shard))
      for (const std::size_t g : w.units[u].generators) needed[g] = true;
    std::vector<std::size_t> out;
    for (std::size_t g = 0; g < needed.size(); ++g)
      if (needed[g]) out.push_back(g);
    return out;
  }
  double classifier_seconds_of(std::int64_t shard) const {
    double s = 0;
    for (const std::size_t u : units_of(shard)) s += unit_cost[u];
    return s;
  }
};

// Splits the work into `count` shards; `shared_generators`: the shards share a generator folder, so each generator's
// training counts once, to the shard assigned it. Deterministic: equal costs go in list order, ties in load to the
// lower shard.
inline shard_assignment assign_shards(const study_work& w, std::int64_t count, bool shared_generators,
                                      const estimate_settings& s, const throughput_table& t = reference_throughput()) {
  require(count >= 1, "assign_shards: ", count, " shards");
  shard_assignment a;
  a.count = count;
  for (const auto& u : w.units) a.unit_cost.push_back(unit_seconds(u, s, t));
  for (const auto& g : w.generators) a.generator_cost.push_back(generator_seconds(g, s, t));
  std::vector<double> load(static_cast<std::size_t>(count), 0.0);
  // Largest first, each to the least loaded shard: the items' shards, in `out`.
  auto spread = [&](const std::vector<double>& cost, std::vector<std::int64_t>& out) {
    std::vector<std::size_t> order(cost.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return cost[x] > cost[y]; });
    out.assign(cost.size(), 0);
    for (const std::size_t i : order) {
      const auto least = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
      out[i] = static_cast<std::int64_t>(least);
      load[least] += cost[i];
    }
  };
  if (shared_generators) spread(a.generator_cost, a.generator_shard);
  spread(a.unit_cost, a.unit_shard);
  if (!shared_generators) a.generator_shard.assign(w.generators.size(), -1);
  return a;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
