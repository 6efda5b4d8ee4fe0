// The xtensor-blas side of test_blas (kept apart: its bundled cblas.h conflicts with OpenBLAS's).
#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xadapt.hpp>
#include <xtensor/xtensor.hpp>

#include <vector>

std::vector<double> xtensor_blas_dot(const std::vector<double>& a, const std::vector<double>& b, std::size_t m,
                                     std::size_t k, std::size_t n) {
  const auto xa = xt::adapt(a, std::vector<std::size_t>{m, k});
  const auto xb = xt::adapt(b, std::vector<std::size_t>{k, n});
  const xt::xtensor<double, 2> product = xt::linalg::dot(xa, xb);
  return {product.begin(), product.end()};
}
