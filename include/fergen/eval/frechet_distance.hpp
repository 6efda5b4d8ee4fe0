// fergen/eval/frechet_distance.hpp: the Frechet distance between two Gaussians fitted to feature sets (the
// formula of FID; Heusel et al. 2017), in whatever feature space the caller measured.
#pragma once

#include <fergen/backend/cpu/linalg.hpp>
#include <fergen/eval/feature_matrix.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace eval {

// d^2 = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2)).
// The trace of the root is computed as the sum of the square roots of the eigenvalues of the symmetric
// matrix S_a^(1/2) S_b S_a^(1/2), which has the same eigenvalues as S_a S_b. That avoids the general
// (non-symmetric) matrix square root of pytorch-fid's scipy.linalg.sqrtm and its complex round-off, and
// stays defined when fewer images than dimensions make the covariances singular. Needs >= 2 rows each.
inline double frechet_distance(const feature_matrix& a, const feature_matrix& b) {
  require(a.cols == b.cols, "frechet_distance: feature sizes ", a.cols, " and ", b.cols, " differ");
  require(a.rows >= 2 && b.rows >= 2, "frechet_distance: needs at least 2 images on each side, got ", a.rows, " and ",
          b.rows);
  const std::vector<double> mu_a = column_means(a), mu_b = column_means(b);
  const linalg::square_matrix s_a = covariance(a), s_b = covariance(b);
  double mean_term = 0, trace_a = 0, trace_b = 0;
  for (std::int64_t j = 0; j < a.cols; ++j) {
    const double d = mu_a[static_cast<std::size_t>(j)] - mu_b[static_cast<std::size_t>(j)];
    mean_term += d * d;
    trace_a += s_a(j, j);
    trace_b += s_b(j, j);
  }
  const linalg::square_matrix root_a = linalg::sqrt_psd(s_a);
  const linalg::square_matrix m = linalg::multiply(linalg::multiply(root_a, s_b), root_a);
  linalg::square_matrix symmetric = m;  // symmetrise against rounding before the symmetric solver
  for (std::int64_t i = 0; i < m.n; ++i)
    for (std::int64_t j = 0; j < m.n; ++j) symmetric(i, j) = 0.5 * (m(i, j) + m(j, i));
  double trace_root = 0;
  for (double lambda : linalg::eigen_symmetric(symmetric, false).values) trace_root += std::sqrt(std::max(lambda, 0.0));
  return std::max(0.0, mean_term + trace_a + trace_b - 2.0 * trace_root);
}

}  // namespace eval
FERGEN_END_NAMESPACE
