// fergen/eval/kernel_distance.hpp: the squared maximum mean discrepancy with a cubic polynomial kernel (the
// formula of KID; Binkowski et al. 2018), averaged over random subsets.
#pragma once

#include <fergen/core/rng.hpp>
#include <fergen/data/split.hpp>
#include <fergen/eval/feature_matrix.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace eval {

struct kernel_distance_options {
  std::int64_t subsets = 100;       // as clean-fid and torch-fidelity
  std::int64_t subset_size = 1000;  // capped at the smaller set's size
  std::uint64_t seed = 0;
};

struct kernel_distance_result {
  double mean = 0;    // mean over subsets of the unbiased MMD^2 estimate
  double stddev = 0;  // over subsets (0 with one subset)
  std::int64_t subsets = 0;
  std::int64_t subset_size = 0;
};

// Unbiased MMD^2 between equal-sized sets x and y with k(u, v) = (u.v / d + 1)^3:
//   sum_{i!=j} k(x_i, x_j) / (m (m-1)) + sum_{i!=j} k(y_i, y_j) / (m (m-1)) - 2 sum_{i,j} k(x_i, y_j) / m^2.
// Unlike the Frechet distance it is unbiased for small sets, which is why it suits per-class figures.
inline double polynomial_mmd2(const feature_matrix& x, const feature_matrix& y) {
  require(x.rows == y.rows && x.rows >= 2 && x.cols == y.cols, "polynomial_mmd2: needs two sets of equal size >= 2");
  const std::int64_t m = x.rows;
  const double d = static_cast<double>(x.cols);
  auto kernel_sum = [&](const feature_matrix& a, const feature_matrix& b, bool skip_diagonal) {
    std::vector<double> dots(static_cast<std::size_t>(m * m));
    ops::cpu_blas::parallel_gemm<double>(false, true, m, m, a.cols, 1.0, a.values.data(), a.cols, b.values.data(),
                                         b.cols, 0.0, dots.data(), m);
    double sum = 0;
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < m; ++j) {
        if (skip_diagonal && i == j) continue;
        const double k = dots[static_cast<std::size_t>(i * m + j)] / d + 1.0;
        sum += k * k * k;
      }
    return sum;
  };
  const double md = static_cast<double>(m);
  return kernel_sum(x, x, true) / (md * (md - 1)) + kernel_sum(y, y, true) / (md * (md - 1)) -
         2.0 * kernel_sum(x, y, false) / (md * md);
}

// KID between real and generated features: the MMD^2 of `subsets` pairs of random subsets (drawn without
// replacement within a subset, from the seed). With subset_size >= both sizes and one subset, it is the
// estimate on the two whole sets (truncated to the smaller size) and needs no randomness.
inline kernel_distance_result kernel_distance(const feature_matrix& real, const feature_matrix& fake,
                                              kernel_distance_options options = {}) {
  require(real.cols == fake.cols, "kernel_distance: feature sizes ", real.cols, " and ", fake.cols, " differ");
  require(options.subsets > 0, "kernel_distance: subsets must be positive, got ", options.subsets);
  const std::int64_t m = std::min({options.subset_size, real.rows, fake.rows});
  require(m >= 2, "kernel_distance: needs at least 2 images on each side, got ", real.rows, " and ", fake.rows);
  kernel_distance_result result;
  result.subsets = options.subsets;
  result.subset_size = m;
  generator gen(options.seed);
  auto draw = [&](std::int64_t n) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    if (m < n) data::detail::shuffle_in_place(order, gen);  // portable: std::shuffle is left to the library
    order.resize(static_cast<std::size_t>(m));
    return order;
  };
  std::vector<double> values;
  for (std::int64_t s = 0; s < options.subsets; ++s) {
    const std::vector<std::int64_t> ri = draw(real.rows), fi = draw(fake.rows);
    values.push_back(polynomial_mmd2(real.select(ri), fake.select(fi)));
  }
  result.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  if (values.size() > 1) {
    double ss = 0;
    for (double v : values) ss += (v - result.mean) * (v - result.mean);
    result.stddev = std::sqrt(ss / static_cast<double>(values.size() - 1));
  }
  return result;
}

}  // namespace eval
FERGEN_END_NAMESPACE
