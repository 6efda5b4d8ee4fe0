// Tests of eval/classification_metrics.hpp: hand-computed cases and numpy's formulas (no sklearn).
#include <fergen/eval/classification_metrics.hpp>

#include "support/errors.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace fergen;

TEST_CASE("classification metrics of a hand-computed 3-class case") {
  // truth:      0 0 0 1 1 2
  // prediction: 0 0 1 1 2 2
  const std::vector<std::int64_t> truth{0, 0, 0, 1, 1, 2}, pred{0, 0, 1, 1, 2, 2};
  const auto m = eval::classification_metrics::compute(truth, pred, 3);
  CHECK(m.confusion == std::vector<std::int64_t>{2, 1, 0, 0, 1, 1, 0, 0, 1});
  CHECK(m.count(0, 1) == 1);
  CHECK(m.support == std::vector<std::int64_t>{3, 2, 1});
  CHECK(m.predicted == std::vector<std::int64_t>{2, 2, 2});
  CHECK(m.accuracy == doctest::Approx(4.0 / 6));
  CHECK(m.precision[0] == doctest::Approx(1.0));
  CHECK(m.recall[0] == doctest::Approx(2.0 / 3));
  CHECK(m.f1[0] == doctest::Approx(0.8));           // 2*2 / (2*2 + 0 + 1)
  CHECK(m.precision[1] == doctest::Approx(0.5));
  CHECK(m.recall[1] == doctest::Approx(0.5));
  CHECK(m.f1[2] == doctest::Approx(2.0 / 3));       // 2*1 / (2*1 + 1 + 0)
  CHECK(m.uar == doctest::Approx((2.0 / 3 + 0.5 + 1.0) / 3));
  CHECK(m.uf1 == doctest::Approx((0.8 + 0.5 + 2.0 / 3) / 3));
  CHECK(m.present_classes == 3);
  const std::string table = m.report({"happiness", "sadness", "surprise"});
  CHECK(testing::contains(table, "accuracy 0.6667  UF1 0.6556  UAR 0.7222  (6 samples, 3 of 3 classes present)"));
  CHECK(testing::contains(table, "happiness       1.0000    0.6667    0.8000        3"));
  CHECK(testing::contains(table, "surprise          0      0      1"));
}

TEST_CASE("zero divisions are 0, and absent classes do not enter UF1 and UAR") {
  // Class 2 has no sample and is predicted once; class 1 is never predicted.
  const std::vector<std::int64_t> truth{0, 0, 1, 1}, pred{0, 2, 0, 0};
  const auto m = eval::classification_metrics::compute(truth, pred, 3);
  CHECK(m.precision[1] == 0);  // never predicted
  CHECK(m.recall[1] == 0);
  CHECK(m.f1[1] == 0);
  CHECK(m.recall[2] == 0);     // no sample
  CHECK(m.precision[2] == 0);  // predicted once, wrongly
  CHECK(m.present_classes == 2);
  CHECK(m.uar == doctest::Approx((0.5 + 0.0) / 2));
  CHECK(m.uf1 == doctest::Approx((2.0 / (2 + 2 + 1) + 0.0) / 2));  // class 0: TP 1, FP 2, FN 1
}

TEST_CASE("classification metrics equal numpy's formulas on random, imbalanced and degenerate cases") {
  for (const auto& name : testing::reference_cases("metrics_reference")) {
    CAPTURE(name);
    const auto ref = testing::load_reference("metrics_reference", name);
    const auto truth = testing::values_of<std::int64_t>(ref, "truth");
    const auto pred = testing::values_of<std::int64_t>(ref, "pred");
    const auto k = testing::values_of<std::int64_t>(ref, "classes")[0];
    const auto m = eval::classification_metrics::compute(truth, pred, k);
    CHECK(m.confusion == testing::values_of<std::int64_t>(ref, "confusion"));
    const auto close = [](const std::vector<double>& a, const std::vector<double>& b) {
      REQUIRE(a.size() == b.size());
      for (std::size_t i = 0; i < a.size(); ++i)
        if (std::abs(a[i] - b[i]) > 1e-12) return false;
      return true;
    };
    CHECK(close(m.precision, testing::values_of<double>(ref, "precision")));
    CHECK(close(m.recall, testing::values_of<double>(ref, "recall")));
    CHECK(close(m.f1, testing::values_of<double>(ref, "f1")));
    CHECK(m.accuracy == doctest::Approx(testing::values_of<double>(ref, "accuracy")[0]).epsilon(1e-12));
    CHECK(m.uf1 == doctest::Approx(testing::values_of<double>(ref, "uf1")[0]).epsilon(1e-12));
    CHECK(m.uar == doctest::Approx(testing::values_of<double>(ref, "uar")[0]).epsilon(1e-12));
  }
}

TEST_CASE("classification metrics refuse bad labels, naming the sample") {
  const std::vector<std::int64_t> a{0, 1}, b{0, 3}, c{0};
  CHECK(testing::contains(testing::error_of([&] { eval::classification_metrics::compute(a, b, 3); }),
                          "predicted label 3 of sample 1 is outside [0, 3)"));
  CHECK(testing::contains(testing::error_of([&] { eval::classification_metrics::compute(b, a, 3); }),
                          "true label 3 of sample 1 is outside [0, 3)"));
  CHECK(testing::contains(testing::error_of([&] { eval::classification_metrics::compute(a, c, 3); }),
                          "2 true labels and 1 predictions"));
  CHECK(testing::contains(testing::error_of([&] { eval::classification_metrics::compute({}, {}, 3); }), "no samples"));
}
