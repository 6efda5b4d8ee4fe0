// fergen/experiment/aggregate.hpp: the trials of one cell of the grid summarised as the study's tables show
// them (per-trial accuracies, their mean) plus what the study leaves out (spread, UF1, UAR, leakage).
#pragma once

#include <fergen/experiment/study_results.hpp>

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

struct cell_key {
  std::string protocol, setting, backbone, config;
  // Spelled out rather than a defaulted <=>: nvcc's front end declares the implied == of a defaulted <=> on a
  // class with string members without defining it ("used but never defined") when fergen/cuda.hpp includes this.
  auto fields() const { return std::tie(protocol, setting, backbone, config); }
  friend bool operator==(const cell_key& a, const cell_key& b) { return a.fields() == b.fields(); }
  friend bool operator<(const cell_key& a, const cell_key& b) { return a.fields() < b.fields(); }
};

struct cell_summary {
  cell_key key;
  std::vector<double> accuracies;  // per trial, in trial order
  double mean_accuracy = 0;
  double std_accuracy = 0;  // sample standard deviation over trials (0 for one trial)
  double mean_uf1 = 0;
  double mean_uar = 0;
  bool leaking = false;
  std::string leak_reason;
  std::vector<std::vector<std::int64_t>> confusion;  // summed over trials
  std::int64_t test_images = 0;                       // per trial
  std::optional<double> clip_overlap, subject_overlap;
};

inline double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

inline double sample_std(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean_of(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

// Cells in the order their first trial appears in the results.
inline std::vector<cell_summary> summarize(const study_results& r) {
  std::vector<cell_summary> cells;
  std::map<cell_key, std::size_t> index;
  std::map<cell_key, std::vector<double>> uf1, uar;
  for (const auto& t : r.trials_run) {
    const cell_key key{t.protocol, t.setting, t.backbone, t.config};
    auto [it, fresh] = index.emplace(key, cells.size());
    if (fresh) {
      cells.push_back({});
      cells.back().key = key;
      cells.back().confusion = t.confusion;
      for (auto& row : cells.back().confusion)
        for (auto& v : row) v = 0;
      cells.back().test_images = t.test_images;
    }
    cell_summary& c = cells[it->second];
    c.accuracies.push_back(t.accuracy);
    uf1[key].push_back(t.uf1);
    uar[key].push_back(t.uar);
    if (t.leaking && !c.leaking) c.leak_reason = t.leak_reason;
    c.leaking = c.leaking || t.leaking;
    if (t.clip_overlap) c.clip_overlap = t.clip_overlap;
    if (t.subject_overlap) c.subject_overlap = t.subject_overlap;
    for (std::size_t i = 0; i < t.confusion.size() && i < c.confusion.size(); ++i)
      for (std::size_t j = 0; j < t.confusion[i].size() && j < c.confusion[i].size(); ++j)
        c.confusion[i][j] += t.confusion[i][j];
  }
  for (auto& c : cells) {
    c.mean_accuracy = mean_of(c.accuracies);
    c.std_accuracy = sample_std(c.accuracies);
    c.mean_uf1 = mean_of(uf1[c.key]);
    c.mean_uar = mean_of(uar[c.key]);
  }
  return cells;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
