// fergen/backend/cpu/linalg.hpp: the dense linear algebra that dataset metrics need (symmetric eigenvalue
// problems and products of square matrices), in double, through OpenBLAS's BLAS and LAPACK.
#pragma once

#include <fergen/backend/cpu/blas.hpp>
#include <fergen/core/error.hpp>

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

// LAPACK's divide-and-conquer symmetric eigensolver, exported by Debian's OpenBLAS. Declared here (not
// through LAPACKE) to need no further package; gfortran passes the lengths of character arguments as
// trailing hidden size_t parameters.
extern "C" void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                        double* work, const int* lwork, int* iwork, const int* liwork, int* info, std::size_t jobz_len,
                        std::size_t uplo_len);

FERGEN_BEGIN_NAMESPACE
namespace linalg {

// A square row-major matrix of doubles.
struct square_matrix {
  std::int64_t n = 0;
  std::vector<double> values;  // n * n, row-major

  square_matrix() = default;
  explicit square_matrix(std::int64_t size) : n(size), values(static_cast<std::size_t>(size * size), 0.0) {}
  double& operator()(std::int64_t i, std::int64_t j) { return values[static_cast<std::size_t>(i * n + j)]; }
  double operator()(std::int64_t i, std::int64_t j) const { return values[static_cast<std::size_t>(i * n + j)]; }
};

// Eigenvalues (ascending) and, when wanted, eigenvectors of a symmetric matrix. The eigenvectors are the
// columns of `vectors` (row-major, so vectors(i, k) is component i of eigenvector k).
struct symmetric_eigen {
  std::vector<double> values;
  square_matrix vectors;
};

inline symmetric_eigen eigen_symmetric(const square_matrix& a, bool with_vectors = true) {
  require(a.n > 0 && a.values.size() == static_cast<std::size_t>(a.n * a.n), "eigen_symmetric: matrix of order ",
          a.n, " holds ", a.values.size(), " values");
  require(a.n < (std::int64_t{1} << 20), "eigen_symmetric: order ", a.n, " is too large");
  symmetric_eigen result;
  result.vectors = a;  // LAPACK works in place; column-major input of a symmetric matrix is the same matrix
  result.values.assign(static_cast<std::size_t>(a.n), 0.0);
  const int n = static_cast<int>(a.n);
  const char jobz = with_vectors ? 'V' : 'N', uplo = 'U';
  int info = 0, lwork = -1, liwork = -1, iwork_query = 0;
  double work_query = 0;
  dsyevd_(&jobz, &uplo, &n, result.vectors.values.data(), &n, result.values.data(), &work_query, &lwork, &iwork_query,
          &liwork, &info, 1, 1);
  require(info == 0, "eigen_symmetric: LAPACK dsyevd workspace query failed (info ", info, ")");
  lwork = static_cast<int>(work_query);
  liwork = iwork_query;
  std::vector<double> work(static_cast<std::size_t>(std::max(lwork, 1)));
  std::vector<int> iwork(static_cast<std::size_t>(std::max(liwork, 1)));
  dsyevd_(&jobz, &uplo, &n, result.vectors.values.data(), &n, result.values.data(), work.data(), &lwork, iwork.data(),
          &liwork, &info, 1, 1);
  require(info == 0, "eigen_symmetric: LAPACK dsyevd did not converge (info ", info, ") on a matrix of order ", a.n);
  // LAPACK returns eigenvectors as columns of a column-major matrix, i.e. as rows of our row-major one.
  if (with_vectors) {
    square_matrix columns(a.n);
    for (std::int64_t i = 0; i < a.n; ++i)
      for (std::int64_t k = 0; k < a.n; ++k) columns(i, k) = result.vectors(k, i);
    result.vectors = std::move(columns);
  } else {
    result.vectors = square_matrix{};
  }
  return result;
}

// C = A * B for square matrices (OpenBLAS, threads partitioned by fergen).
inline square_matrix multiply(const square_matrix& a, const square_matrix& b) {
  require(a.n == b.n, "multiply: orders ", a.n, " and ", b.n, " differ");
  square_matrix c(a.n);
  ops::cpu_blas::parallel_gemm<double>(false, false, a.n, a.n, a.n, 1.0, a.values.data(), a.n, b.values.data(), b.n,
                                       0.0, c.values.data(), c.n);
  return c;
}

// The principal square root of a symmetric positive semi-definite matrix: V sqrt(max(L, 0)) V^T. Eigenvalues
// below zero come from rounding (covariances of fewer samples than dimensions are singular) and are clipped.
inline square_matrix sqrt_psd(const square_matrix& a) {
  const symmetric_eigen e = eigen_symmetric(a);
  square_matrix scaled(a.n);  // V * sqrt(L)
  for (std::int64_t i = 0; i < a.n; ++i)
    for (std::int64_t k = 0; k < a.n; ++k)
      scaled(i, k) = e.vectors(i, k) * std::sqrt(std::max(e.values[static_cast<std::size_t>(k)], 0.0));
  square_matrix root(a.n);
  ops::cpu_blas::parallel_gemm<double>(false, true, a.n, a.n, a.n, 1.0, scaled.values.data(), a.n,
                                       e.vectors.values.data(), a.n, 0.0, root.values.data(), a.n);
  return root;
}

}  // namespace linalg
FERGEN_END_NAMESPACE
