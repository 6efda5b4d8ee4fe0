// fergen/experiment/study_merge.hpp: the folders of a sharded run (`fergen study --shard I/N`) joined into the
// results of the unsharded run: the same rows in the same order, so results.json and results.csv are byte for byte
// the unsharded run's. Everything is checked before anything is written: that the shards are of one plan (its
// identity, study_manifest.hpp: fergen's version, the data, the seed, every option), that each shard of 0..N-1 is
// there once and finished, and that every cell is present exactly once.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/experiment/cas.hpp>
#include <fergen/experiment/results_json.hpp>
#include <fergen/experiment/study_manifest.hpp>
#include <fergen/experiment/study_results.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

// One shard's results folder, read.
struct shard_folder {
  std::filesystem::path dir;
  study_manifest manifest;
  study_results results;
};

inline shard_folder read_shard_folder(const std::filesystem::path& dir) {
  require(std::filesystem::is_directory(dir), "merge: ", dir.string(), " is not a folder");
  require(std::filesystem::exists(dir / "plan.json"), "merge: ", dir.string(),
          " has no plan.json: it is not the folder of a `fergen study` run");
  require(std::filesystem::exists(dir / "results.json"), "merge: ", dir.string(),
          " has no results.json: its shard has not finished a cell yet");
  return {dir, read_manifest(dir / "plan.json"), read_results_json(dir / "results.json")};
}

// The merged results, and the sample grids to copy: (file in a shard folder, path under the merged folder).
struct merged_study {
  study_results results;
  std::vector<std::pair<std::filesystem::path, std::string>> figures;
  std::vector<std::int64_t> threads;  // the thread counts the shards ran with, each once
};

namespace detail {

inline std::string listed(const std::vector<std::string>& items, std::size_t most = 4) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < most; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > most) out += str(" and ", items.size() - most, " more");
  return out;
}

// The header of a results file: what every shard of one run shares.
inline std::string header_text(const study_results& r) {
  study_results h = r;
  h.trials_run.clear();
  h.quality.clear();
  h.generators.clear();
  h.cas.clear();
  return to_json(h).dump();
}

}  // namespace detail

inline merged_study merge_shards(const std::vector<shard_folder>& shards) {
  require(!shards.empty(), "merge: no shard folders given");
  const shard_folder& first = shards.front();
  const std::int64_t n = first.manifest.part.count;
  std::map<std::int64_t, const shard_folder*> by_index;
  for (const shard_folder& s : shards) {
    const std::string difference = identity_difference(first.manifest.identity, s.manifest.identity,
                                                       first.dir.string(), s.dir.string());
    require(difference.empty(), "merge: ", first.dir.string(), " and ", s.dir.string(),
            " are shards of different runs (", difference, ")");
    require(s.manifest.part.count == n, "merge: ", first.dir.string(), " is shard ", first.manifest.part.text(), " and ",
            s.dir.string(), " shard ", s.manifest.part.text(), ": the run was split in two ways");
    require(s.manifest.units == first.manifest.units && s.manifest.unit_shard == first.manifest.unit_shard &&
                s.manifest.generator_keys == first.manifest.generator_keys,
            "merge: ", first.dir.string(), " and ", s.dir.string(), " split the grid differently");
    const auto [it, added] = by_index.emplace(s.manifest.part.index, &s);
    require(added, "merge: shard ", s.manifest.part.text(), " is given twice: ", it->second->dir.string(), " and ",
            s.dir.string());
  }
  std::vector<std::string> missing;
  for (std::int64_t i = 0; i < n; ++i)
    if (!by_index.contains(i)) missing.push_back(str(i, "/", n));
  require(missing.empty(), "merge: shard", missing.size() > 1 ? "s " : " ", detail::listed(missing, 16),
          missing.size() > 1 ? " are" : " is", " missing (", shards.size(), " of ", n, " given)");

  // Every cell once, each from the shard it was assigned to, and every shard finished.
  std::map<std::string, const trial_record*> rows;
  for (const auto& [index, s] : by_index) {
    require(detail::header_text(s->results) == detail::header_text(first.results), "merge: ", s->dir.string(),
            "/results.json and ", first.dir.string(), "/results.json differ in their header (data, classes or warnings)");
    const std::vector<std::string> expected = s->manifest.cells_of(index);
    const std::set<std::string> mine(expected.begin(), expected.end());
    for (const trial_record& r : s->results.trials_run) {
      const std::string key = row_key(r);
      require(mine.contains(key), "merge: ", s->dir.string(), " holds cell ", key, ", which is not its shard's");
      require(rows.emplace(key, &r).second, "merge: ", s->dir.string(), " holds cell ", key, " twice");
    }
    std::vector<std::string> unfinished;
    for (const auto& key : expected)
      if (!rows.contains(key)) unfinished.push_back(key);
    require(unfinished.empty(), "merge: ", s->dir.string(), " (shard ", s->manifest.part.text(), ") has ",
            expected.size() - unfinished.size(), " of its ", expected.size(),
            " cells: it has not finished (rerun its command to resume it); missing ", detail::listed(unfinished));
  }

  merged_study m;
  m.results = first.results;
  m.results.trials_run.clear();
  m.results.generators.clear();
  m.results.quality.clear();
  // The rows in the unsharded order: protocol, trial, configuration, setting, backbone.
  const study_manifest& plan = first.manifest;
  for (const auto& p : plan.protocols)
    for (std::int64_t t = 1; t <= plan.trials; ++t)
      for (const auto& c : plan.configs)
        for (const auto& st : plan.settings)
          for (const auto& b : plan.backbones) m.results.trials_run.push_back(*rows.at(row_key(p, t, c, st, b)));

  // Each generator once, in training order, with its quality rows; the shards that read it recorded it alike.
  for (const std::string& key : plan.generator_keys) {
    const shard_folder* source = nullptr;
    const generator_record* record = nullptr;
    for (const auto& [index, s] : by_index)
      for (const generator_record& g : s->results.generators) {
        if (g.protocol + "/" + g.fold != key) continue;
        if (record == nullptr) {
          source = s;
          record = &g;
        } else {
          study_results a, b;
          a.generators = {*record};
          b.generators = {g};
          require(to_json(a).dump() == to_json(b).dump(), "merge: ", source->dir.string(), " and ", s->dir.string(),
                  " recorded generator ", key, " differently (ran with ", source->manifest.threads, " and ",
                  s->manifest.threads, " threads: give every shard the same thread count, or share a --generators "
                  "folder)");
        }
      }
    require(record != nullptr, "merge: no shard recorded generator ", key);
    m.results.generators.push_back(*record);
    for (const quality_record& q : source->results.quality)
      if (q.protocol + "/" + q.fold == key) m.results.quality.push_back(q);
    if (!record->sample_grid.empty()) m.figures.emplace_back(source->dir / record->sample_grid, record->sample_grid);
  }
  m.results.cas = compute_cas(m.results);
  for (const auto& [index, s] : by_index)
    if (std::find(m.threads.begin(), m.threads.end(), s->manifest.threads) == m.threads.end())
      m.threads.push_back(s->manifest.threads);
  return m;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
