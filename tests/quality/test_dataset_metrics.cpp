// Tests of the dataset-quality metrics (eval/frechet_distance.hpp, kernel_distance.hpp,
// manifold_precision_recall.hpp, memorization.hpp) against independent numpy/scipy computations.
#include <fergen/eval/frechet_distance.hpp>
#include <fergen/eval/kernel_distance.hpp>
#include <fergen/eval/manifold_precision_recall.hpp>
#include <fergen/eval/memorization.hpp>

#include "support/errors.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

using namespace fergen;

namespace {

eval::feature_matrix features_of(const npy_array& a) {
  REQUIRE(a.shape.size() == 2);
  return eval::feature_matrix(a.shape[0], a.shape[1], a.values<double>());
}

double scalar(const npz_archive& ref, const std::string& key) { return testing::values_of<double>(ref, key)[0]; }

}  // namespace

TEST_CASE("dataset metrics equal numpy and scipy on reference feature sets") {
  for (const std::string& name : testing::reference_cases("dataset_metrics_reference")) {
    CAPTURE(name);
    const npz_archive ref = testing::load_reference("dataset_metrics_reference", name);
    const eval::feature_matrix a = features_of(testing::member(ref, "a"));
    const eval::feature_matrix b = features_of(testing::member(ref, "b"));

    // scipy's sqrtm of the (non-symmetric) product carries round-off of its own: compare at 1e-6 relative
    // to the terms of the formula.
    const double fid = eval::frechet_distance(a, b);
    CHECK(std::abs(fid - scalar(ref, "fid")) <= 1e-6 * (1 + std::abs(scalar(ref, "fid"))) + 1e-7);

    // One subset as large as the smaller set, on the first rows of each: the estimate on whole sets, as the
    // reference computes it (a subset smaller than a set would be drawn at random).
    std::vector<std::int64_t> first(static_cast<std::size_t>(std::min(a.rows, b.rows)));
    for (std::size_t i = 0; i < first.size(); ++i) first[i] = static_cast<std::int64_t>(i);
    const auto kid = eval::kernel_distance(a.select(first), b.select(first), {.subsets = 1, .subset_size = 1'000'000});
    CHECK(kid.subset_size == std::min(a.rows, b.rows));
    CHECK(kid.mean == doctest::Approx(scalar(ref, "kid")).epsilon(1e-9).scale(1));

    const auto pr = eval::manifold_precision_recall(a, b, 3);
    CHECK(pr.precision == doctest::Approx(scalar(ref, "precision")).epsilon(1e-12));
    CHECK(pr.recall == doctest::Approx(scalar(ref, "recall")).epsilon(1e-12));

    std::vector<std::string> clips;
    for (std::int64_t c : testing::values_of<std::int64_t>(ref, "clips")) clips.push_back("clip" + std::to_string(c));
    const eval::feature_matrix generated = features_of(testing::member(ref, "generated"));
    const auto expected = testing::values_of<std::int64_t>(ref, "memorized");
    const auto nearest = testing::values_of<std::int64_t>(ref, "nearest");
    const auto m = eval::memorization(generated, b, clips);
    for (std::size_t i = 0; i < expected.size(); ++i) {
      CAPTURE(i);
      CHECK(m.is_memorized[i] == expected[i]);
      CHECK(m.nearest[i] == nearest[i]);
    }
    CHECK(m.memorized >= 5);  // the five near-copies at least
  }
}

TEST_CASE("Frechet distance: zero for identical sets, grows with a mean shift as |shift|^2") {
  generator g(3);
  const random_stream s = g.take();
  eval::feature_matrix a(400, 6);
  for (std::size_t i = 0; i < a.values.size(); ++i) a.values[i] = s.normal(i);
  CHECK(eval::frechet_distance(a, a) == doctest::Approx(0).scale(1).epsilon(1e-9));
  eval::feature_matrix shifted = a;
  for (std::int64_t i = 0; i < a.rows; ++i) shifted.values[static_cast<std::size_t>(i * 6 + 2)] += 2.0;
  CHECK(eval::frechet_distance(a, shifted) == doctest::Approx(4.0).epsilon(1e-9));
}

TEST_CASE("KID over random subsets is reproducible by seed and unbiased near zero for one distribution") {
  generator g(5);
  const random_stream s = g.take();
  eval::feature_matrix a(600, 4), b(600, 4);
  for (std::size_t i = 0; i < a.values.size(); ++i) {
    a.values[i] = s.normal(i);
    b.values[i] = s.normal(i + a.values.size());
  }
  const auto k1 = eval::kernel_distance(a, b, {.subsets = 20, .subset_size = 100, .seed = 9});
  const auto k2 = eval::kernel_distance(a, b, {.subsets = 20, .subset_size = 100, .seed = 9});
  CHECK(k1.mean == k2.mean);
  CHECK(k1.stddev > 0);
  CHECK(std::abs(k1.mean) < 3 * k1.stddev);  // same distribution: zero within the subsets' spread
}

TEST_CASE("memorization: every image its own clip when no clip ids are given") {
  eval::feature_matrix training(3, 1, {0.0, 10.0, 20.0});
  eval::feature_matrix generated(2, 1, {0.5, 5.0});
  const auto m = eval::memorization(generated, training);
  CHECK(m.is_memorized[0] == 1);  // 0.5 < (9.5) / 3
  CHECK(m.is_memorized[1] == 0);  // halfway between two training images
  CHECK(m.rate == doctest::Approx(0.5));
}

TEST_CASE("dataset metrics reject bad input with the sizes involved") {
  const eval::feature_matrix a(10, 3), b(10, 4), one(1, 3), few(3, 3);
  CHECK(testing::contains(testing::error_of([&] { eval::frechet_distance(a, b); }), "feature sizes 3 and 4"));
  CHECK(testing::contains(testing::error_of([&] { eval::frechet_distance(a, one); }), "at least 2 images"));
  CHECK(testing::contains(testing::error_of([&] { eval::manifold_precision_recall(a, few, 3); }), "more than 3"));
  CHECK(testing::contains(testing::error_of([&] { eval::kernel_distance(a, a, {.subsets = 0}); }), "subsets must be positive"));
  CHECK(testing::contains(testing::error_of([&] { eval::memorization(a, a, {"x"}); }), "1 clip ids for 10 training images"));
  CHECK(testing::contains(testing::error_of([] { eval::feature_matrix(2, 2, {1.0, 2.0, 3.0}); }), "3 values do not make 2 x 2"));
  CHECK(testing::contains(testing::error_of([] { eval::feature_matrix(1, 1, {std::nan("")}); }), "not finite"));
}
