// fergen/eval/manifold_precision_recall.hpp: precision and recall of a generated set against a real one on
// k-nearest-neighbour manifolds (Kynkaanniemi et al. 2019, "Improved precision and recall metric").
#pragma once

#include <fergen/core/parallel.hpp>
#include <fergen/eval/feature_matrix.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace eval {

struct precision_recall {
  double precision = 0;  // fraction of generated images inside the real manifold: fidelity
  double recall = 0;     // fraction of real images inside the generated manifold: coverage
  std::int64_t k = 0;
};

namespace detail {

inline constexpr std::int64_t distance_block = 512;  // rows per block: memory stays O(block x n)

// For each row of f, the squared distance to its k-th nearest other row of f: the radius of the ball that
// row spans on the manifold.
inline std::vector<double> knn_radii(const feature_matrix& f, std::int64_t k) {
  std::vector<double> radii(static_cast<std::size_t>(f.rows));
  for (std::int64_t start = 0; start < f.rows; start += distance_block) {
    const std::int64_t count = std::min(distance_block, f.rows - start);
    std::vector<std::int64_t> rows(static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) rows[static_cast<std::size_t>(i)] = start + i;
    const std::vector<double> d = squared_distances(f.select(rows), f);
    parallel_for(count, [&](std::int64_t i) {
      std::vector<double> others;
      others.reserve(static_cast<std::size_t>(f.rows - 1));
      for (std::int64_t j = 0; j < f.rows; ++j)
        if (j != start + i) others.push_back(d[static_cast<std::size_t>(i * f.rows + j)]);
      std::nth_element(others.begin(), others.begin() + (k - 1), others.end());
      radii[static_cast<std::size_t>(start + i)] = others[static_cast<std::size_t>(k - 1)];
    });
  }
  return radii;
}

// The fraction of rows of `query` that lie within the ball of at least one row of `manifold`.
inline double fraction_inside(const feature_matrix& query, const feature_matrix& manifold,
                              const std::vector<double>& radii) {
  std::int64_t inside = 0;
  for (std::int64_t start = 0; start < query.rows; start += distance_block) {
    const std::int64_t count = std::min(distance_block, query.rows - start);
    std::vector<std::int64_t> rows(static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) rows[static_cast<std::size_t>(i)] = start + i;
    const std::vector<double> d = squared_distances(query.select(rows), manifold);
    std::vector<char> hit(static_cast<std::size_t>(count), 0);
    parallel_for(count, [&](std::int64_t i) {
      for (std::int64_t j = 0; j < manifold.rows; ++j)
        if (d[static_cast<std::size_t>(i * manifold.rows + j)] <= radii[static_cast<std::size_t>(j)]) {
          hit[static_cast<std::size_t>(i)] = 1;
          break;
        }
    });
    for (char h : hit) inside += h;
  }
  return static_cast<double>(inside) / static_cast<double>(query.rows);
}

}  // namespace detail

// Each set's manifold is the union of balls around its points, each ball reaching the point's k-th nearest
// neighbour in the same set (k = 3 as in the paper). Precision: generated points inside the real manifold;
// recall: real points inside the generated manifold. Both sets need more than k images.
inline precision_recall manifold_precision_recall(const feature_matrix& real, const feature_matrix& fake,
                                                  std::int64_t k = 3) {
  require(real.cols == fake.cols, "manifold_precision_recall: feature sizes ", real.cols, " and ", fake.cols,
          " differ");
  require(k >= 1, "manifold_precision_recall: k must be at least 1, got ", k);
  require(real.rows > k && fake.rows > k, "manifold_precision_recall: k = ", k, " needs more than ", k,
          " images on each side, got ", real.rows, " real and ", fake.rows, " generated");
  precision_recall r;
  r.k = k;
  r.precision = detail::fraction_inside(fake, real, detail::knn_radii(real, k));
  r.recall = detail::fraction_inside(real, fake, detail::knn_radii(fake, k));
  return r;
}

}  // namespace eval
FERGEN_END_NAMESPACE
