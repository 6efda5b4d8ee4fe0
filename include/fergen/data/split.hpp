// fergen/data/split.hpp: train/test splits of a dataset, as index lists: the study's frame-level random
// split, and the protocols that keep clips or subjects on one side.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/rng.hpp>
#include <fergen/data/dataset.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace data {

// Indices into the dataset, not copies: a 17k-frame dataset is split 5 times x 4 protocols without
// duplicating a pixel. Both lists are sorted ascending (the loader shuffles; sorted lists compare and print
// well). The name says which protocol made it ("random 80/20", "clip 80/20", "subject 5-fold 2/5", "sub01"),
// so reports never lose track of which numbers come from the leaky protocol.
struct split {
  std::string name;
  std::vector<std::int64_t> train, test;
};

namespace detail {

// Fisher-Yates from the last element down, with generator::below: std::shuffle's algorithm is left to the
// standard library, so the same seed would give different splits under libstdc++ and libc++.
template <class T>
void shuffle_in_place(std::vector<T>& values, generator& g) {
  for (std::size_t i = values.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(g.below(i));
    std::swap(values[i - 1], values[j]);
  }
}

inline void require_fraction(const char* who, double test_fraction) {
  require(test_fraction > 0.0 && test_fraction < 1.0, who, ": test_fraction ", test_fraction,
          " is outside (0, 1)");
}

// "80/20" for 0.2; "66.7/33.3" for 1/3: one decimal, dropped when it is zero.
inline std::string percent_pair(double test_fraction) {
  const auto one = [](double percent) {
    char text[32];
    const double rounded = std::round(percent * 10.0) / 10.0;
    if (rounded == std::round(rounded))
      std::snprintf(text, sizeof text, "%.0f", rounded);
    else
      std::snprintf(text, sizeof text, "%.1f", rounded);
    return std::string(text);
  };
  return one(100.0 * (1.0 - test_fraction)) + "/" + one(100.0 * test_fraction);
}

// sklearn's train_test_split size rule: the test side gets ceil(fraction * n) units, the train side the rest.
inline std::int64_t test_count(const char* who, double test_fraction, std::int64_t units, const char* unit_name) {
  require_fraction(who, test_fraction);
  const auto n_test = static_cast<std::int64_t>(std::ceil(test_fraction * static_cast<double>(units)));
  require(n_test < units, who, ": test_fraction ", test_fraction, " of ", units, " ", unit_name,
          " puts ", n_test, " on the test side and ", units - n_test,
          " on the train side; both sides need at least one (use more ", unit_name, " or a smaller fraction)");
  return n_test;
}

// How many of `total` test units each class gets, proportionally to its count: the exact share
// total * count_c / n rounded down, then the units still missing go one each to the classes with the
// largest remainders (ties: the lower label). Integer arithmetic, so no class is off by more than one from
// its exact share (within 1 sample per class) and the result does not depend on floating-point rounding.
// sklearn's StratifiedShuffleSplit (_approximate_mode) rounds the same way but breaks ties at random.
inline std::vector<std::int64_t> allocate_proportionally(const std::vector<std::int64_t>& counts, std::int64_t total) {
  const std::int64_t n = std::accumulate(counts.begin(), counts.end(), std::int64_t{0});
  std::vector<std::int64_t> share(counts.size(), 0);
  if (n == 0) return share;
  std::vector<std::pair<std::int64_t, std::size_t>> remainders;  // (remainder, class)
  std::int64_t given = 0;
  for (std::size_t c = 0; c < counts.size(); ++c) {
    share[c] = total * counts[c] / n;
    given += share[c];
    remainders.emplace_back(total * counts[c] % n, c);
  }
  std::stable_sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t k = 0; given < total && k < remainders.size(); ++k, ++given) ++share[remainders[k].second];
  return share;
}

// Which units (frames or clips) go to the test side: n_test of them, uniformly at random, or, stratified, a
// proportional number of each class (allocate_proportionally), each class's members shuffled in label order
// by one generator.
inline std::vector<bool> choose_test(const std::vector<std::int64_t>& unit_labels, std::int64_t class_count,
                                     std::int64_t n_test, generator& g, bool stratified) {
  const auto units = static_cast<std::int64_t>(unit_labels.size());
  std::vector<bool> is_test(unit_labels.size(), false);
  if (!stratified) {
    std::vector<std::int64_t> order(unit_labels.size());
    std::iota(order.begin(), order.end(), std::int64_t{0});
    shuffle_in_place(order, g);
    for (std::int64_t k = 0; k < n_test; ++k) is_test[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])] = true;
    return is_test;
  }
  std::vector<std::vector<std::int64_t>> members(static_cast<std::size_t>(class_count));
  for (std::int64_t u = 0; u < units; ++u) members[static_cast<std::size_t>(unit_labels[static_cast<std::size_t>(u)])].push_back(u);
  std::vector<std::int64_t> counts;
  for (const auto& m : members) counts.push_back(static_cast<std::int64_t>(m.size()));
  const std::vector<std::int64_t> share = allocate_proportionally(counts, n_test);
  for (std::size_t c = 0; c < members.size(); ++c) {
    shuffle_in_place(members[c], g);
    for (std::int64_t k = 0; k < share[c]; ++k) is_test[static_cast<std::size_t>(members[c][static_cast<std::size_t>(k)])] = true;
  }
  return is_test;
}

// Every sample's group (subject or clip) as an index into the distinct ids in order of first appearance.
// A sample without an id cannot be kept on one side, so any is an error naming how many and the first.
struct groups {
  std::vector<std::string> ids;      // distinct, first appearance order
  std::vector<std::int64_t> of;      // per sample: index into ids
  std::vector<std::vector<std::int64_t>> members;  // per group: its samples, ascending
};

inline groups group_by(const dataset& ds, std::string sample::*field, const char* who, const char* what) {
  require(ds.size() > 0, who, ": the dataset is empty");
  groups g;
  g.of.resize(static_cast<std::size_t>(ds.size()));
  std::map<std::string, std::int64_t> index;
  std::int64_t missing = 0, first_missing = -1;
  for (std::int64_t i = 0; i < ds.size(); ++i) {
    const std::string& id = ds[i].*field;
    if (id.empty()) {
      if (missing++ == 0) first_missing = i;
      continue;
    }
    const auto [it, added] = index.emplace(id, static_cast<std::int64_t>(g.ids.size()));
    if (added) {
      g.ids.push_back(id);
      g.members.emplace_back();
    }
    g.of[static_cast<std::size_t>(i)] = it->second;
    g.members[static_cast<std::size_t>(it->second)].push_back(i);
  }
  if (missing > 0) {
    const std::string& source = ds[first_missing].source;
    fail(who, ": ", missing, " of ", ds.size(), " samples have no ", what, " id (the first is sample ", first_missing,
         source.empty() ? std::string() : " from " + source, "); a ", what,
         "-aware split needs every sample's ", what);
  }
  return g;
}

// The label a group is stratified by: its most frequent label (ties: the lower label). A CASME II clip has
// one label, so this is that label; mixed groups of other datasets still get one.
inline std::int64_t majority_label(const dataset& ds, const std::vector<std::int64_t>& members) {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(ds.class_count()), 0);
  for (const auto i : members) ++counts[static_cast<std::size_t>(ds[i].label)];
  return static_cast<std::int64_t>(std::max_element(counts.begin(), counts.end()) - counts.begin());
}

// Per-group flags -> the two sides' sample lists, ascending.
inline split from_groups(std::string name, const groups& g, const std::vector<bool>& group_is_test) {
  split s{std::move(name), {}, {}};
  for (std::size_t i = 0; i < g.of.size(); ++i)
    (group_is_test[static_cast<std::size_t>(g.of[i])] ? s.test : s.train).push_back(static_cast<std::int64_t>(i));
  return s;
}

}  // namespace detail

// The study's protocol: frames drawn at random, sklearn train_test_split semantics (ceil(test_fraction * n)
// test frames, the rest train). Frames of one clip, 5 ms apart, land on both sides: see leakage.hpp.
// stratified keeps each class's share on both sides: class c gets its exact share n_test * n_c / n rounded
// by largest remainder (detail::allocate_proportionally), so it is within one frame of proportional.
inline split random_split(const dataset& ds, double test_fraction = 0.2, std::uint64_t seed = 0, bool stratified = false) {
  const std::int64_t n_test = detail::test_count("random_split", test_fraction, ds.size(), "samples");
  std::vector<std::int64_t> labels(static_cast<std::size_t>(ds.size()));
  for (std::int64_t i = 0; i < ds.size(); ++i) labels[static_cast<std::size_t>(i)] = ds[i].label;
  generator g(seed);
  const std::vector<bool> is_test = detail::choose_test(labels, ds.class_count(), n_test, g, stratified);
  split s{"random " + detail::percent_pair(test_fraction) + (stratified ? " stratified" : ""), {}, {}};
  for (std::size_t i = 0; i < is_test.size(); ++i) (is_test[i] ? s.test : s.train).push_back(static_cast<std::int64_t>(i));
  return s;
}

// Whole clips on one side (sklearn's GroupShuffleSplit with clips as groups): ceil(test_fraction * clips)
// clips go to test. stratified: clips are stratified by their label (the majority label of their frames)
// with the same rounding as random_split, so class proportions hold in clips, and in frames only as far as
// clip lengths allow. Subjects still appear on both sides.
inline split clip_split(const dataset& ds, double test_fraction = 0.2, std::uint64_t seed = 0, bool stratified = false) {
  const detail::groups clips = detail::group_by(ds, &sample::clip, "clip_split", "clip");
  const auto n_clips = static_cast<std::int64_t>(clips.ids.size());
  const std::int64_t n_test = detail::test_count("clip_split", test_fraction, n_clips, "clips");
  std::vector<std::int64_t> labels;
  for (const auto& m : clips.members) labels.push_back(detail::majority_label(ds, m));
  generator g(seed);
  const std::vector<bool> is_test = detail::choose_test(labels, ds.class_count(), n_test, g, stratified);
  return detail::from_groups("clip " + detail::percent_pair(test_fraction) + (stratified ? " stratified" : ""), clips,
                             is_test);
}

// Subject-independent k-fold: the subjects (shuffled by seed) are partitioned into k folds whose subject
// counts differ by at most one (the first subjects % k folds have one more, as sklearn's KFold); split f
// tests fold f and trains on the rest, so every subject is tested exactly once.
// stratified: the subjects, in their shuffled order, are placed greedily, each into the fold (among those
// not yet at their subject count) where it most reduces the squared distance of the fold's class counts to
// the ideal total_c / k (ties: the fold with fewer frames, then the lower fold). Greedy, not optimal: good
// enough to keep rare classes (fear, sadness) from piling into one fold; the seed still changes the folds.
inline std::vector<split> subject_kfold(const dataset& ds, std::int64_t k, std::uint64_t seed = 0, bool stratified = false) {
  const detail::groups subjects = detail::group_by(ds, &sample::subject, "subject_kfold", "subject");
  const auto n = static_cast<std::int64_t>(subjects.ids.size());
  require(k >= 2 && k <= n, "subject_kfold: k = ", k, " folds for ", n, " subjects; k must be in [2, ", n,
          "] (every fold needs a subject to test)");
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  generator g(seed);
  detail::shuffle_in_place(order, g);

  std::vector<std::int64_t> capacity(static_cast<std::size_t>(k));
  for (std::int64_t f = 0; f < k; ++f) capacity[static_cast<std::size_t>(f)] = n / k + (f < n % k ? 1 : 0);
  std::vector<std::int64_t> fold_of(static_cast<std::size_t>(n), -1);
  if (!stratified) {
    std::int64_t f = 0, used = 0;  // contiguous runs of the shuffled order, capacity[f] subjects each
    for (const auto s : order) {
      if (used == capacity[static_cast<std::size_t>(f)]) {
        ++f;
        used = 0;
      }
      fold_of[static_cast<std::size_t>(s)] = f;
      ++used;
    }
  } else {
    const auto classes = static_cast<std::size_t>(ds.class_count());
    const auto ku = static_cast<std::size_t>(k);
    std::vector<double> ideal(classes, 0.0);
    for (std::int64_t i = 0; i < ds.size(); ++i) ideal[static_cast<std::size_t>(ds[i].label)] += 1.0 / static_cast<double>(k);
    std::vector<std::vector<double>> fold_counts(ku, std::vector<double>(classes, 0.0));
    std::vector<std::int64_t> fold_subjects(ku, 0), fold_frames(ku, 0);
    for (const auto s : order) {
      std::vector<double> mine(classes, 0.0);
      const auto& members = subjects.members[static_cast<std::size_t>(s)];
      for (const auto i : members) mine[static_cast<std::size_t>(ds[i].label)] += 1.0;
      std::size_t best = ku;
      double best_cost = 0.0;
      for (std::size_t f = 0; f < ku; ++f) {
        if (fold_subjects[f] == capacity[f]) continue;
        double cost = 0.0;  // change of sum_c (count_c - ideal_c)^2 if s joins fold f
        for (std::size_t c = 0; c < classes; ++c) {
          const double before = fold_counts[f][c] - ideal[c], after = before + mine[c];
          cost += after * after - before * before;
        }
        if (best == ku || cost < best_cost || (cost == best_cost && fold_frames[f] < fold_frames[best])) {
          best = f;
          best_cost = cost;
        }
      }
      fold_of[static_cast<std::size_t>(s)] = static_cast<std::int64_t>(best);
      for (std::size_t c = 0; c < classes; ++c) fold_counts[best][c] += mine[c];
      ++fold_subjects[best];
      fold_frames[best] += static_cast<std::int64_t>(members.size());
    }
  }

  std::vector<split> folds;
  for (std::int64_t f = 0; f < k; ++f) {
    std::vector<bool> is_test(static_cast<std::size_t>(n));
    for (std::int64_t s = 0; s < n; ++s) is_test[static_cast<std::size_t>(s)] = fold_of[static_cast<std::size_t>(s)] == f;
    folds.push_back(detail::from_groups("subject " + std::to_string(k) + "-fold " + std::to_string(f + 1) + "/" +
                                            std::to_string(k) + (stratified ? " stratified" : ""),
                                        subjects, is_test));
  }
  return folds;
}

// Leave-one-subject-out, the field's protocol for CASME II: one split per subject, in order of first
// appearance, named after the subject, testing that subject's frames against everyone else's.
inline std::vector<split> leave_one_subject_out(const dataset& ds) {
  const detail::groups subjects = detail::group_by(ds, &sample::subject, "leave_one_subject_out", "subject");
  const auto n = static_cast<std::int64_t>(subjects.ids.size());
  require(n >= 2, "leave_one_subject_out: the dataset has ", n,
          " subject; at least 2 are needed so that the train side is not empty");
  std::vector<split> folds;
  for (std::int64_t s = 0; s < n; ++s) {
    std::vector<bool> is_test(static_cast<std::size_t>(n), false);
    is_test[static_cast<std::size_t>(s)] = true;
    folds.push_back(detail::from_groups(subjects.ids[static_cast<std::size_t>(s)], subjects, is_test));
  }
  return folds;
}

}  // namespace data
FERGEN_END_NAMESPACE
