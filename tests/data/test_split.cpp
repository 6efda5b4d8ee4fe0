// Tests of data/split.hpp: sizes, disjointness, coverage, stratification, group integrity, determinism and
// the errors of the random, clip, subject k-fold and leave-one-subject-out splits.
#include <fergen/data/split.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace fergen;
using data::dataset;
using data::split;

namespace {

std::string subject_name(std::int64_t s) { return "sub0" + std::to_string(s + 1); }

// subjects x clips x frames tiny frames; a clip's frames share its label, (s * clips + c) % classes.
dataset make_dataset(std::int64_t subjects, std::int64_t clips, std::int64_t frames, std::int64_t classes = 3) {
  std::vector<std::string> names;
  for (std::int64_t c = 0; c < classes; ++c) names.push_back("class" + std::to_string(c));
  dataset ds(names);
  for (std::int64_t s = 0; s < subjects; ++s)
    for (std::int64_t c = 0; c < clips; ++c)
      for (std::int64_t f = 0; f < frames; ++f) {
        data::sample x;
        x.image = data::image(1, 2, 2, static_cast<float>(f));
        x.label = (s * clips + c) % classes;
        x.subject = subject_name(s);
        x.clip = subject_name(s) + "/EP" + std::to_string(c);
        x.frame = f;
        ds.add(std::move(x));
      }
  return ds;
}

// Class sizes 100, 37, 13, 3: imbalanced like CASME II (fear 127 of 17124).
dataset imbalanced_dataset() {
  dataset ds({"others", "disgust", "sadness", "fear"});
  const std::int64_t counts[] = {100, 37, 13, 3};
  for (std::int64_t c = 0; c < 4; ++c)
    for (std::int64_t i = 0; i < counts[c]; ++i) {
      data::sample x;
      x.image = data::image(1, 1, 1);
      x.label = c;
      ds.add(std::move(x));
    }
  return ds;
}

// Sorted, disjoint, and together every sample exactly once.
void check_partition(const split& s, std::int64_t n) {
  CAPTURE(s.name);
  CHECK(std::is_sorted(s.train.begin(), s.train.end()));
  CHECK(std::is_sorted(s.test.begin(), s.test.end()));
  CHECK(!s.train.empty());
  CHECK(!s.test.empty());
  std::vector<std::int64_t> all = s.train;
  all.insert(all.end(), s.test.begin(), s.test.end());
  std::sort(all.begin(), all.end());
  std::vector<std::int64_t> expected(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) expected[static_cast<std::size_t>(i)] = i;
  CHECK(all == expected);
}

std::set<std::string> ids(const dataset& ds, const std::vector<std::int64_t>& side, std::string data::sample::*field) {
  std::set<std::string> out;
  for (const auto i : side) out.insert(ds[i].*field);
  return out;
}

bool disjoint(const std::set<std::string>& a, const std::set<std::string>& b) {
  for (const auto& x : a)
    if (b.count(x)) return false;
  return true;
}

std::vector<std::int64_t> class_counts(const dataset& ds, const std::vector<std::int64_t>& side) {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(ds.class_count()), 0);
  for (const auto i : side) ++counts[static_cast<std::size_t>(ds[i].label)];
  return counts;
}

}  // namespace

TEST_CASE("random_split: sklearn's sizes (ceil of the test fraction), a partition, named after the fractions") {
  const dataset ds = make_dataset(6, 4, 10);
  const split s = data::random_split(ds, 0.2, 7);
  check_partition(s, 240);
  CHECK(s.test.size() == 48);
  CHECK(s.train.size() == 192);
  CHECK(s.name == "random 80/20");

  const dataset small = make_dataset(1, 1, 11);
  CHECK(data::random_split(small, 0.2, 1).test.size() == 3);  // ceil(2.2)
  CHECK(data::random_split(small, 0.5, 1).test.size() == 6);  // ceil(5.5)
  CHECK(data::random_split(make_dataset(1, 1, 10), 0.2, 1).test.size() == 2);  // 0.2 * 10 is exactly 2
  CHECK(data::random_split(small, 0.25, 1).name == "random 75/25");
  CHECK(data::random_split(small, 1.0 / 3.0, 1).name == "random 66.7/33.3");
  CHECK(data::random_split(small, 0.2, 1, true).name == "random 80/20 stratified");
}

TEST_CASE("random_split: same seed same split, another seed another split") {
  const dataset ds = make_dataset(6, 4, 10);
  const split a = data::random_split(ds, 0.2, 11), b = data::random_split(ds, 0.2, 11);
  const split c = data::random_split(ds, 0.2, 12);
  CHECK(a.train == b.train);
  CHECK(a.test == b.test);
  CHECK(a.test != c.test);
  const split sa = data::random_split(ds, 0.2, 11, true), sb = data::random_split(ds, 0.2, 11, true);
  CHECK(sa.test == sb.test);
  CHECK(sa.test != data::random_split(ds, 0.2, 12, true).test);
}

TEST_CASE("random_split stratified: every class within one sample of its proportional share, on both sides") {
  const dataset ds = imbalanced_dataset();  // 153 samples
  for (const double fraction : {0.2, 0.1, 0.3, 0.5}) {
    for (const std::uint64_t seed : {0u, 1u, 2u}) {
      CAPTURE(fraction);
      CAPTURE(seed);
      const split s = data::random_split(ds, fraction, seed, true);
      check_partition(s, ds.size());
      const auto n_test = static_cast<std::int64_t>(std::ceil(fraction * 153.0));
      CHECK(static_cast<std::int64_t>(s.test.size()) == n_test);
      const auto test = class_counts(ds, s.test), train = class_counts(ds, s.train);
      const auto all = ds.class_counts();
      for (std::size_t c = 0; c < all.size(); ++c) {
        const double exact = static_cast<double>(n_test) * static_cast<double>(all[c]) / 153.0;
        CHECK(std::abs(static_cast<double>(test[c]) - exact) < 1.0);
        CHECK(std::abs(static_cast<double>(test[c]) - fraction * static_cast<double>(all[c])) <= 1.0);
        CHECK(test[c] + train[c] == all[c]);
      }
    }
  }
  // Largest remainder, lower label on ties: 31 test samples of 100/37/13/3 are 20.26/7.50/2.63/0.61 -> 20, 7, 3, 1.
  CHECK(class_counts(ds, data::random_split(ds, 0.2, 0, true).test) == std::vector<std::int64_t>{20, 7, 3, 1});
}

TEST_CASE("clip_split: whole clips on one side, ceil(fraction x clips) test clips, subjects on both sides") {
  const dataset ds = make_dataset(6, 4, 10);
  for (const bool stratified : {false, true}) {
    CAPTURE(stratified);
    const split s = data::clip_split(ds, 0.2, 3, stratified);
    check_partition(s, 240);
    CHECK(s.name == (stratified ? "clip 80/20 stratified" : "clip 80/20"));
    const auto train_clips = ids(ds, s.train, &data::sample::clip), test_clips = ids(ds, s.test, &data::sample::clip);
    CHECK(disjoint(train_clips, test_clips));
    CHECK(test_clips.size() == 5);  // ceil(0.2 * 24)
    CHECK(s.test.size() == 50);
    CHECK(!disjoint(ids(ds, s.train, &data::sample::subject), ids(ds, s.test, &data::sample::subject)));
    CHECK(s.test == data::clip_split(ds, 0.2, 3, stratified).test);
  }
  // Stratified by the clips' labels: 24 clips, 8 per class; 5 test clips are 1.67 each -> 2, 2, 1.
  const split s = data::clip_split(ds, 0.2, 3, true);
  CHECK(class_counts(ds, s.test) == std::vector<std::int64_t>{20, 20, 10});
  CHECK(data::clip_split(ds, 0.2, 3).test != data::clip_split(ds, 0.2, 4).test);
}

TEST_CASE("subject_kfold: near-equal folds of subjects, each subject tested exactly once") {
  const dataset ds = make_dataset(6, 4, 10);
  for (const std::int64_t k : {2, 3, 4, 6}) {
    for (const bool stratified : {false, true}) {
      CAPTURE(k);
      CAPTURE(stratified);
      const std::vector<split> folds = data::subject_kfold(ds, k, 5, stratified);
      REQUIRE(static_cast<std::int64_t>(folds.size()) == k);
      std::map<std::string, int> tested;
      std::vector<std::size_t> sizes;
      for (std::size_t f = 0; f < folds.size(); ++f) {
        check_partition(folds[f], 240);
        CHECK(folds[f].name == "subject " + std::to_string(k) + "-fold " + std::to_string(f + 1) + "/" +
                                   std::to_string(k) + (stratified ? " stratified" : ""));
        const auto test_subjects = ids(ds, folds[f].test, &data::sample::subject);
        CHECK(disjoint(ids(ds, folds[f].train, &data::sample::subject), test_subjects));
        for (const auto& s : test_subjects) ++tested[s];
        sizes.push_back(test_subjects.size());
      }
      CHECK(tested.size() == 6);
      for (const auto& [subject, times] : tested) CHECK(times == 1);
      const auto [lo, hi] = std::minmax_element(sizes.begin(), sizes.end());
      CHECK(*hi - *lo <= 1);
    }
  }
  // Deterministic by seed, and the seed matters.
  const auto a = data::subject_kfold(ds, 3, 9), b = data::subject_kfold(ds, 3, 9);
  for (std::size_t f = 0; f < 3; ++f) CHECK(a[f].test == b[f].test);
  bool differs = false;
  for (const std::uint64_t seed : {10u, 11u, 12u}) differs = differs || data::subject_kfold(ds, 3, seed)[0].test != a[0].test;
  CHECK(differs);
}

TEST_CASE("subject_kfold stratified: greedy placement balances class counts across folds") {
  // 8 subjects of 10 frames, the first four all class 0, the last four all class 1: balanced folds of 2
  // subjects hold one of each, which the greedy placement finds for every seed.
  dataset ds({"a", "b"});
  for (std::int64_t s = 0; s < 8; ++s)
    for (std::int64_t f = 0; f < 10; ++f) {
      data::sample x;
      x.image = data::image(1, 1, 1);
      x.label = s < 4 ? 0 : 1;
      x.subject = subject_name(s);
      x.clip = subject_name(s) + "/c";
      ds.add(std::move(x));
    }
  for (std::uint64_t seed = 0; seed < 8; ++seed) {
    CAPTURE(seed);
    for (const auto& fold : data::subject_kfold(ds, 4, seed, true))
      CHECK(class_counts(ds, fold.test) == std::vector<std::int64_t>{10, 10});
  }
  // Unstratified folds are only as balanced as the shuffle makes them: some seed puts two subjects of a
  // class together (probability 27/35 per seed).
  bool unbalanced = false;
  for (std::uint64_t seed = 0; seed < 8; ++seed)
    for (const auto& fold : data::subject_kfold(ds, 4, seed, false))
      unbalanced = unbalanced || class_counts(ds, fold.test) != std::vector<std::int64_t>{10, 10};
  CHECK(unbalanced);
}

TEST_CASE("leave_one_subject_out: one split per subject in first-appearance order, named after it") {
  const dataset ds = make_dataset(6, 4, 10);
  const std::vector<split> folds = data::leave_one_subject_out(ds);
  REQUIRE(folds.size() == 6);
  for (std::int64_t s = 0; s < 6; ++s) {
    const split& fold = folds[static_cast<std::size_t>(s)];
    check_partition(fold, 240);
    CHECK(fold.name == subject_name(s));
    CHECK(ids(ds, fold.test, &data::sample::subject) == std::set<std::string>{subject_name(s)});
    CHECK(!ids(ds, fold.train, &data::sample::subject).count(subject_name(s)));
    CHECK(fold.test.size() == 40);
    CHECK(fold.test.front() == s * 40);
  }
}

TEST_CASE("splits reject bad fractions, bad k, missing ids and empty sides, naming the numbers") {
  const dataset ds = make_dataset(6, 4, 10);
  for (const double bad : {0.0, 1.0, -0.1, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(data::random_split(ds, bad), doctest::Contains("random_split: test_fraction"), error);
    CHECK_THROWS_WITH_AS(data::clip_split(ds, bad), doctest::Contains("is outside (0, 1)"), error);
  }
  CHECK_THROWS_WITH_AS(data::random_split(make_dataset(1, 1, 10), 0.95),
                       doctest::Contains("of 10 samples puts 10 on the test side and 0 on the train side"), error);
  CHECK_THROWS_WITH_AS(data::random_split(make_dataset(1, 1, 1), 0.5), doctest::Contains("puts 1 on the test side"),
                       error);
  CHECK_THROWS_WITH_AS(data::random_split(dataset({"a"}), 0.2), doctest::Contains("of 0 samples"), error);
  CHECK_THROWS_WITH_AS(data::clip_split(make_dataset(2, 1, 5), 0.6), doctest::Contains("of 2 clips puts 2"), error);
  CHECK_THROWS_WITH_AS(data::subject_kfold(ds, 1), doctest::Contains("k = 1 folds for 6 subjects"), error);
  CHECK_THROWS_WITH_AS(data::subject_kfold(ds, 7), doctest::Contains("k = 7 folds for 6 subjects; k must be in [2, 6]"),
                       error);
  CHECK_THROWS_WITH_AS(data::leave_one_subject_out(make_dataset(1, 4, 10)), doctest::Contains("has 1 subject"), error);

  dataset unnamed = make_dataset(2, 2, 3);
  unnamed[4].subject.clear();
  unnamed[4].clip.clear();
  unnamed[4].source = "frame4.jpg";
  unnamed[7].subject.clear();
  CHECK_THROWS_WITH_AS(data::leave_one_subject_out(unnamed),
                       doctest::Contains("2 of 12 samples have no subject id (the first is sample 4 from frame4.jpg)"),
                       error);
  CHECK_THROWS_WITH_AS(data::subject_kfold(unnamed, 2), doctest::Contains("subject_kfold: 2 of 12"), error);
  CHECK_THROWS_WITH_AS(data::clip_split(unnamed, 0.5), doctest::Contains("clip_split: 1 of 12 samples have no clip id"),
                       error);
  CHECK_THROWS_WITH_AS(data::leave_one_subject_out(dataset({"a"})), doctest::Contains("the dataset is empty"), error);
  CHECK(data::random_split(unnamed, 0.5).test.size() == 6);  // frame level: ids are not needed
}

TEST_CASE("allocate_proportionally: floor plus largest remainder, ties to the lower class") {
  using data::detail::allocate_proportionally;
  CHECK(allocate_proportionally({10, 10, 10}, 4) == std::vector<std::int64_t>{2, 1, 1});
  CHECK(allocate_proportionally({5, 0, 5}, 3) == std::vector<std::int64_t>{2, 0, 1});
  CHECK(allocate_proportionally({1, 1}, 2) == std::vector<std::int64_t>{1, 1});
  CHECK(allocate_proportionally({3, 7}, 0) == std::vector<std::int64_t>{0, 0});
  CHECK(allocate_proportionally({}, 0).empty());
}
