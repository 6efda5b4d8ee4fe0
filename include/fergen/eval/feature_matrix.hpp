// fergen/eval/feature_matrix.hpp: images as rows of feature vectors, the input of every dataset metric.
#pragma once

#include <fergen/backend/cpu/linalg.hpp>
#include <fergen/core/error.hpp>

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace eval {

// rows x cols doubles, row-major: one row per image. Where the features come from (a classifier's
// penultimate layer, raw pixels) is the caller's choice, and every report states it: a distance measured in
// one feature space is not comparable with one measured in another (an "FID" in a small classifier's space
// is not ImageNet-Inception FID).
struct feature_matrix {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::vector<double> values;

  feature_matrix() = default;
  feature_matrix(std::int64_t r, std::int64_t c) : rows(r), cols(c), values(static_cast<std::size_t>(r * c), 0.0) {
    require(r >= 0 && c >= 0, "feature_matrix: negative size ", r, " x ", c);
  }
  feature_matrix(std::int64_t r, std::int64_t c, std::vector<double> v) : rows(r), cols(c), values(std::move(v)) {
    require(r >= 0 && c >= 0 && values.size() == static_cast<std::size_t>(r * c), "feature_matrix: ", values.size(),
            " values do not make ", r, " x ", c);
    for (double x : values) require(std::isfinite(x), "feature_matrix: a feature is not finite (", x, ")");
  }

  std::span<const double> row(std::int64_t i) const {
    return {values.data() + i * cols, static_cast<std::size_t>(cols)};
  }
  double operator()(std::int64_t i, std::int64_t j) const { return values[static_cast<std::size_t>(i * cols + j)]; }

  // The rows at the given indices, in that order.
  feature_matrix select(std::span<const std::int64_t> indices) const {
    feature_matrix out(static_cast<std::int64_t>(indices.size()), cols);
    for (std::size_t k = 0; k < indices.size(); ++k) {
      require(indices[k] >= 0 && indices[k] < rows, "feature_matrix::select: row ", indices[k], " of ", rows);
      std::copy_n(values.data() + indices[k] * cols, cols, out.values.data() + static_cast<std::int64_t>(k) * cols);
    }
    return out;
  }
};

// Column means.
inline std::vector<double> column_means(const feature_matrix& f) {
  require(f.rows > 0, "column_means: no rows");
  std::vector<double> mean(static_cast<std::size_t>(f.cols), 0.0);
  for (std::int64_t i = 0; i < f.rows; ++i)
    for (std::int64_t j = 0; j < f.cols; ++j) mean[static_cast<std::size_t>(j)] += f(i, j);
  for (double& m : mean) m /= static_cast<double>(f.rows);
  return mean;
}

// The unbiased sample covariance of the columns (divides by rows - 1, as numpy.cov does).
inline linalg::square_matrix covariance(const feature_matrix& f) {
  require(f.rows > 1, "covariance: needs at least 2 rows, got ", f.rows);
  const std::vector<double> mean = column_means(f);
  std::vector<double> centred(f.values.size());
  for (std::int64_t i = 0; i < f.rows; ++i)
    for (std::int64_t j = 0; j < f.cols; ++j)
      centred[static_cast<std::size_t>(i * f.cols + j)] = f(i, j) - mean[static_cast<std::size_t>(j)];
  linalg::square_matrix cov(f.cols);
  ops::cpu_blas::parallel_gemm<double>(true, false, f.cols, f.cols, f.rows, 1.0 / static_cast<double>(f.rows - 1),
                                       centred.data(), f.cols, centred.data(), f.cols, 0.0, cov.values.data(), f.cols);
  return cov;
}

// Squared Euclidean distances between every row of a and every row of b: a.rows x b.rows, row-major.
// |x - y|^2 = |x|^2 + |y|^2 - 2 x.y through one product; clipped at zero against rounding.
inline std::vector<double> squared_distances(const feature_matrix& a, const feature_matrix& b) {
  require(a.cols == b.cols, "squared_distances: feature sizes ", a.cols, " and ", b.cols, " differ");
  std::vector<double> d(static_cast<std::size_t>(a.rows * b.rows), 0.0);
  if (a.rows == 0 || b.rows == 0) return d;
  ops::cpu_blas::parallel_gemm<double>(false, true, a.rows, b.rows, a.cols, -2.0, a.values.data(), a.cols,
                                       b.values.data(), b.cols, 0.0, d.data(), b.rows);
  auto norms = [](const feature_matrix& f) {
    std::vector<double> n(static_cast<std::size_t>(f.rows), 0.0);
    for (std::int64_t i = 0; i < f.rows; ++i)
      for (double x : f.row(i)) n[static_cast<std::size_t>(i)] += x * x;
    return n;
  };
  const std::vector<double> na = norms(a), nb = norms(b);
  for (std::int64_t i = 0; i < a.rows; ++i)
    for (std::int64_t j = 0; j < b.rows; ++j) {
      double& v = d[static_cast<std::size_t>(i * b.rows + j)];
      v = std::max(0.0, v + na[static_cast<std::size_t>(i)] + nb[static_cast<std::size_t>(j)]);
    }
  return d;
}

}  // namespace eval
FERGEN_END_NAMESPACE
