// fergen/experiment/cas.hpp: the Classification Accuracy Score (CAS, Ravuri & Vinyals 2019) of a synthetic set:
// a classifier trained only on synthetic images and tested on real frames, against the same classifier trained on
// real frames and tested on the same frames. The ratio of the two accuracies says how much of what the real frames
// teach the synthetic set teaches: 1 is as good as the real data; chance / real accuracy is nothing learnt.
//
// In a study the pair is a synth-real row and the real-real row of the same protocol, backbone, configuration
// and trial (the runner tests both on the same real frames); `fergen judge` makes the pair directly.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/eval/classification_metrics.hpp>
#include <fergen/experiment/study_results.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

using confusion_matrix = std::vector<std::vector<std::int64_t>>;  // [true][predicted]

// The metrics' confusion as the rows a result records (a study row, a judged side).
inline confusion_matrix confusion_of(const eval::classification_metrics& m) {
  confusion_matrix rows(static_cast<std::size_t>(m.classes));
  for (std::int64_t t = 0; t < m.classes; ++t)
    for (std::int64_t p = 0; p < m.classes; ++p) rows[static_cast<std::size_t>(t)].push_back(m.count(t, p));
  return rows;
}

// a / b, absent when either is absent or b is not positive: a ratio against nothing learnt means nothing.
inline std::optional<double> cas_ratio(std::optional<double> a, std::optional<double> b) {
  if (!a || !b || !(*b > 0)) return std::nullopt;
  return *a / *b;
}

// Per true class: the diagonal over the row sum; absent for a class without a test frame.
inline std::vector<std::optional<double>> per_class_recall(const confusion_matrix& c) {
  std::vector<std::optional<double>> out;
  for (std::size_t t = 0; t < c.size(); ++t) {
    require(c[t].size() == c.size(), "per_class_recall: row ", t, " of the confusion matrix has ", c[t].size(),
            " entries for ", c.size(), " classes");
    std::int64_t sum = 0;
    for (const auto v : c[t]) sum += v;
    out.push_back(sum > 0 ? std::optional<double>(static_cast<double>(c[t][t]) / static_cast<double>(sum))
                          : std::nullopt);
  }
  return out;
}

// The per-class CAS of two classifiers tested on the same real frames (so every row of both confusions has the
// same sum: the frames of that class).
inline std::vector<class_cas> compare_per_class(const confusion_matrix& real_trained,
                                                const confusion_matrix& synthetic_trained,
                                                const std::vector<std::string>& class_names) {
  require(real_trained.size() == class_names.size() && synthetic_trained.size() == class_names.size(), "cas: ",
          real_trained.size(), " and ", synthetic_trained.size(), " confusion rows for ", class_names.size(), " classes");
  const auto real_recall = per_class_recall(real_trained), synthetic_recall = per_class_recall(synthetic_trained);
  std::vector<class_cas> out;
  for (std::size_t c = 0; c < class_names.size(); ++c) {
    std::int64_t real_frames = 0, synthetic_frames = 0;
    for (const auto v : real_trained[c]) real_frames += v;
    for (const auto v : synthetic_trained[c]) synthetic_frames += v;
    require(real_frames == synthetic_frames, "cas: the real- and the synthetic-trained classifier were tested on "
            "different frames (class '", class_names[c], "': ", real_frames, " and ", synthetic_frames, ")");
    out.push_back({class_names[c], real_frames, real_recall[c], synthetic_recall[c],
                   cas_ratio(synthetic_recall[c], real_recall[c])});
  }
  return out;
}

namespace detail {

// Each synth-real row with its real-real twin (same protocol, backbone, configuration, trial), in the order of
// the synth-real rows; rows without a twin (the plan did not run real-real) are left out.
inline std::vector<std::pair<const trial_record*, const trial_record*>> cas_pairs(const study_results& r) {
  std::map<std::tuple<std::string, std::string, std::string, std::int64_t>, const trial_record*> real;
  for (const auto& t : r.trials_run)
    if (t.setting == "real-real") real[{t.protocol, t.backbone, t.config, t.trial}] = &t;
  std::vector<std::pair<const trial_record*, const trial_record*>> out;
  for (const auto& t : r.trials_run)
    if (t.setting == "synth-real")
      if (const auto it = real.find({t.protocol, t.backbone, t.config, t.trial}); it != real.end())
        out.emplace_back(it->second, &t);
  return out;
}

}  // namespace detail

// The CAS of every synth-real row of a study against its real-real twin.
inline std::vector<cas_record> compute_cas(const study_results& r) {
  std::vector<cas_record> out;
  for (const auto& [real, synthetic] : detail::cas_pairs(r))
    out.push_back({synthetic->protocol, synthetic->backbone, synthetic->config, synthetic->trial, real->accuracy,
                   synthetic->accuracy, cas_ratio(synthetic->accuracy, real->accuracy),
                   compare_per_class(real->confusion, synthetic->confusion, r.class_names)});
  return out;
}

// The CAS of one cell (protocol, backbone, configuration) over its trials: the ratio per trial, the ratio of the
// mean accuracies, and per class the recalls of the confusions summed over trials.
struct cas_cell {
  std::string protocol, backbone, config;
  std::vector<std::int64_t> trials;
  std::vector<std::optional<double>> trial_ratios;  // per trial, in trial order
  double real_mean = 0, synthetic_mean = 0;         // mean accuracies over those trials
  std::optional<double> ratio_of_means;
  std::vector<class_cas> classes;  // recalls of the confusions summed over the trials
  bool leaking = false;            // the synth-real row leaks (and why)
  std::string leak_reason;
};

// Cells in the order of their first synth-real row.
inline std::vector<cas_cell> summarize_cas(const study_results& r) {
  std::vector<cas_cell> cells;
  std::map<std::tuple<std::string, std::string, std::string>, std::size_t> index;
  std::vector<std::pair<confusion_matrix, confusion_matrix>> sums;  // per cell: real-, synthetic-trained
  auto add = [](confusion_matrix& sum, const confusion_matrix& c) {
    if (sum.empty()) {
      sum = c;
      return;
    }
    for (std::size_t i = 0; i < sum.size() && i < c.size(); ++i)
      for (std::size_t j = 0; j < sum[i].size() && j < c[i].size(); ++j) sum[i][j] += c[i][j];
  };
  for (const auto& [real, synthetic] : detail::cas_pairs(r)) {
    const auto [it, fresh] = index.emplace(std::make_tuple(synthetic->protocol, synthetic->backbone, synthetic->config),
                                           cells.size());
    if (fresh) {
      cells.push_back({});
      cells.back().protocol = synthetic->protocol;
      cells.back().backbone = synthetic->backbone;
      cells.back().config = synthetic->config;
      sums.emplace_back();
    }
    cas_cell& c = cells[it->second];
    c.trials.push_back(synthetic->trial);
    c.trial_ratios.push_back(cas_ratio(synthetic->accuracy, real->accuracy));
    c.real_mean += real->accuracy;
    c.synthetic_mean += synthetic->accuracy;
    if (synthetic->leaking && !c.leaking) c.leak_reason = synthetic->leak_reason;
    c.leaking = c.leaking || synthetic->leaking;
    add(sums[it->second].first, real->confusion);
    add(sums[it->second].second, synthetic->confusion);
  }
  for (std::size_t i = 0; i < cells.size(); ++i) {
    cas_cell& c = cells[i];
    c.real_mean /= static_cast<double>(c.trials.size());
    c.synthetic_mean /= static_cast<double>(c.trials.size());
    c.ratio_of_means = cas_ratio(c.synthetic_mean, c.real_mean);
    c.classes = compare_per_class(sums[i].first, sums[i].second, r.class_names);
  }
  return cells;
}

// The mean over backbones of the cells' ratios of means, for one protocol and configuration; absent when no
// backbone has one.
inline std::optional<double> mean_cas_over_backbones(const std::vector<cas_cell>& cells, const std::string& protocol,
                                                     const std::string& config) {
  double sum = 0;
  std::int64_t n = 0;
  for (const auto& c : cells)
    if (c.protocol == protocol && c.config == config && c.ratio_of_means) {
      sum += *c.ratio_of_means;
      ++n;
    }
  return n > 0 ? std::optional<double>(sum / static_cast<double>(n)) : std::nullopt;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
