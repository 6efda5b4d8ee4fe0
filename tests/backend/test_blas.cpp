// Tests of backend/cpu/blas.hpp: matrix products against a plain triple loop and against xtensor-blas.
#include <fergen/backend/cpu/blas.hpp>
#include <fergen/core/rng.hpp>


#include <doctest/doctest.h>

#include <omp.h>

#include <cmath>
#include <tuple>
#include <vector>

using namespace fergen;

// In its own translation unit: xtensor-blas ships a cblas.h of its own that clashes with OpenBLAS's.
std::vector<double> xtensor_blas_dot(const std::vector<double>& a, const std::vector<double>& b, std::size_t m,
                                     std::size_t k, std::size_t n);

namespace {
template <class T>
std::vector<T> random_matrix(std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  std::vector<T> m(static_cast<std::size_t>(rows * cols));
  const random_stream s = generator(seed).take();
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = static_cast<T>(s.normal(i));
  return m;
}

// C = alpha op(A) op(B) + beta C in double, element by element.
template <class T>
std::vector<double> naive(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
                          const std::vector<T>& a, const std::vector<T>& b, double beta, const std::vector<T>& c) {
  std::vector<double> out(static_cast<std::size_t>(m * n));
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (std::int64_t p = 0; p < k; ++p) {
        const double av = ta ? a[static_cast<std::size_t>(p * m + i)] : a[static_cast<std::size_t>(i * k + p)];
        const double bv = tb ? b[static_cast<std::size_t>(j * k + p)] : b[static_cast<std::size_t>(p * n + j)];
        sum += av * bv;
      }
      out[static_cast<std::size_t>(i * n + j)] = alpha * sum + beta * c[static_cast<std::size_t>(i * n + j)];
    }
  return out;
}
}  // namespace

TEST_CASE_TEMPLATE("gemm and parallel_gemm match the definition for every transpose", T, float, double) {
  const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-13;
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (auto [m, n, k] : {std::tuple<std::int64_t, std::int64_t, std::int64_t>{3, 5, 7}, {64, 300, 33}, {130, 70, 129}}) {
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          CAPTURE(threads);
          CAPTURE(m);
          CAPTURE(ta);
          CAPTURE(tb);
          const auto a = random_matrix<T>(m, k, 1), b = random_matrix<T>(k, n, 2), c0 = random_matrix<T>(m, n, 3);
          const auto expected = naive(ta, tb, m, n, k, 0.5, a, b, 2.0, c0);
          for (bool parallel : {false, true}) {
            auto c = c0;
            const std::int64_t lda = ta ? m : k, ldb = tb ? k : n;
            if (parallel)
              ops::cpu_blas::parallel_gemm<T>(ta, tb, m, n, k, T(0.5), a.data(), lda, b.data(), ldb, T(2), c.data(), n);
            else
              ops::cpu_blas::gemm<T>(ta, tb, m, n, k, T(0.5), a.data(), lda, b.data(), ldb, T(2), c.data(), n);
            double worst = 0, scale = 0;
            for (std::size_t i = 0; i < c.size(); ++i) {
              worst = std::max(worst, std::abs(c[i] - expected[i]));
              scale = std::max(scale, std::abs(expected[i]));
            }
            CHECK(worst <= tolerance * scale);
          }
        }
    }
  }
  omp_set_num_threads(1);
}

TEST_CASE("gemm agrees with xtensor-blas's linalg::dot") {
  const std::size_t m = 17, n = 23, k = 31;
  const auto a = random_matrix<double>(m, k, 4), b = random_matrix<double>(k, n, 5);
  std::vector<double> c(static_cast<std::size_t>(m * n));
  ops::cpu_blas::gemm<double>(false, false, m, n, k, 1.0, a.data(), k, b.data(), n, 0.0, c.data(), n);
  const auto reference = xtensor_blas_dot(a, b, m, k, n);
  for (std::size_t i = 0; i < c.size(); ++i) CHECK(c[i] == doctest::Approx(reference[i]).epsilon(1e-12));
}
