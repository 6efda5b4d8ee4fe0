// Tests of backend/cpu/winograd.hpp: 3x3 stride-1 convolutions by F(2x2, 3x3), forward and data gradient,
// against the direct sum, on even and odd map sizes, through ops::conv2d as the layers call it.
#include <fergen/backend/cpu/conv2d.hpp>
#include <fergen/backend/cpu/winograd.hpp>

#include "support/gradient_check.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using namespace fergen;

namespace {

// y[n][k][i][j] = b[k] + sum_{c,u,v} x[n][c][i+u-1][j+v-1] w[k][c][u][v], zero outside: in double.
std::vector<double> direct(const std::vector<double>& x, const shape& xs, const std::vector<double>& w, std::int64_t k_count,
                           const std::vector<double>* b) {
  std::vector<double> y(static_cast<std::size_t>(xs.n * k_count * xs.h * xs.w), 0.0);
  for (std::int64_t n = 0; n < xs.n; ++n)
    for (std::int64_t k = 0; k < k_count; ++k)
      for (std::int64_t i = 0; i < xs.h; ++i)
        for (std::int64_t j = 0; j < xs.w; ++j) {
          double sum = b ? (*b)[static_cast<std::size_t>(k)] : 0.0;
          for (std::int64_t c = 0; c < xs.c; ++c)
            for (std::int64_t u = 0; u < 3; ++u)
              for (std::int64_t v = 0; v < 3; ++v) {
                const std::int64_t yy = i + u - 1, xx = j + v - 1;
                if (yy < 0 || yy >= xs.h || xx < 0 || xx >= xs.w) continue;
                sum += x[static_cast<std::size_t>(((n * xs.c + c) * xs.h + yy) * xs.w + xx)] *
                       w[static_cast<std::size_t>(((k * xs.c + c) * 3 + u) * 3 + v)];
              }
          y[static_cast<std::size_t>(((n * k_count + k) * xs.h + i) * xs.w + j)] = sum;
        }
  return y;
}

template <class T>
double max_relative(const tensor<cpu<T>>& got, const std::vector<double>& want) {
  double diff = 0, scale = 1e-30;
  for (std::size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(got.data()[i]) - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  return diff / scale;
}

}  // namespace

TEST_CASE_TEMPLATE("Winograd F(2x2, 3x3) convolutions equal the direct sum, forward and data gradient", T, float, double) {
  using B = cpu<T>;
  const double tolerance = std::is_same_v<T, float> ? 2e-6 : 1e-13;
  struct shape_case {
    shape x;
    std::int64_t k;
  };
  for (const auto& s : {shape_case{{2, 16, 8, 8}, 16}, shape_case{{1, 17, 9, 11}, 24}, shape_case{{3, 32, 12, 7}, 16},
                        shape_case{{1, 20, 16, 16}, 40}}) {
    CAPTURE(s.x);
    CAPTURE(s.k);
    const ops::conv2d_geometry g{3, 3, 1, 1, 1, 1, 1, 1};
    REQUIRE(ops::cpu_winograd::applies(g, s.x, s.k));
    const auto x64 = testing::random_tensor<double>(s.x, 1);
    const auto w64 = testing::random_tensor<double>({s.k, s.x.c, 3, 3}, 2);
    const auto b64 = testing::random_tensor<double>({s.k, 1, 1, 1}, 3);
    const std::vector<double> xv(x64.values().begin(), x64.values().end()), wv(w64.values().begin(), w64.values().end()),
        bv(b64.values().begin(), b64.values().end());
    auto convert = [](const tensor<cpu<double>>& t) {
      auto out = tensor<B>::uninitialized(t.shape());
      for (std::int64_t i = 0; i < t.size(); ++i) out.data()[i] = static_cast<T>(t.data()[i]);
      return out;
    };
    const auto x = convert(x64), w = convert(w64), b = convert(b64);
    auto ctx = context<B>::train();
    ctx.resources.kernels = cpu_kernels::onednn_gemm;  // Winograd, not oneDNN's convolution
    // Forward, through ops::conv2d as the layers call it.
    const auto y = ops::conv2d<B>::forward(ctx, x, w, &b, g);
    const double forward_error = max_relative(y, direct(xv, s.x, wv, s.k, &bv));
    MESSAGE("forward: max |diff| / max |y| = " << forward_error);
    CHECK(forward_error <= tolerance);
    // Data gradient: the adjoint of the forward map, <dy, conv(x)> = <conv^T(dy), x>, against the direct sum
    // with the kernel turned and the channels swapped.
    const shape ys{s.x.n, s.k, s.x.h, s.x.w};
    const auto dy64 = testing::random_tensor<double>(ys, 4);
    std::vector<double> turned(wv.size());
    for (std::int64_t k = 0; k < s.k; ++k)
      for (std::int64_t c = 0; c < s.x.c; ++c)
        for (std::int64_t u = 0; u < 3; ++u)
          for (std::int64_t v = 0; v < 3; ++v)
            turned[static_cast<std::size_t>(((c * s.k + k) * 3 + (2 - u)) * 3 + (2 - v))] =
                wv[static_cast<std::size_t>(((k * s.x.c + c) * 3 + u) * 3 + v)];
    const std::vector<double> dyv(dy64.values().begin(), dy64.values().end());
    const auto dx = ops::conv2d<B>::backward_data(ctx, convert(dy64), w, s.x, g);
    const double backward_error = max_relative(dx, direct(dyv, ys, turned, s.x.c, nullptr));
    MESSAGE("data gradient: max |diff| / max |dx| = " << backward_error);
    CHECK(backward_error <= tolerance);
  }
}

TEST_CASE("the Winograd path is taken only where it pays and gives the same bits for any thread count") {
  const ops::conv2d_geometry g3{3, 3, 1, 1, 1, 1, 1, 1}, strided{3, 3, 2, 2, 1, 1, 1, 1}, g1{1, 1, 1, 1, 0, 0, 1, 1};
  CHECK(ops::cpu_winograd::applies(g3, {8, 64, 160, 160}, 64));
  CHECK_FALSE(ops::cpu_winograd::applies(g3, {8, 3, 160, 160}, 64));   // VGG's first layer: too few channels
  CHECK_FALSE(ops::cpu_winograd::applies(g3, {8, 512, 5, 5}, 512));    // a 5x5 map is mostly padding in tiles
  CHECK_FALSE(ops::cpu_winograd::applies(strided, {8, 64, 40, 40}, 64));
  CHECK_FALSE(ops::cpu_winograd::applies(g1, {8, 64, 40, 40}, 64));
#if defined(_OPENMP)
  using B = cpu<float>;
  const auto x = testing::random_tensor<float>({4, 32, 20, 18}, 5), w = testing::random_tensor<float>({48, 32, 3, 3}, 6);
  auto ctx = context<B>::eval();
  ctx.resources.kernels = cpu_kernels::onednn_gemm;  // Winograd, not oneDNN's convolution
  omp_set_num_threads(1);
  const auto one = ops::conv2d<B>::forward(ctx, x, w, nullptr, g3);
  omp_set_num_threads(2);
  const auto two = ops::conv2d<B>::forward(ctx, x, w, nullptr, g3);
  CHECK(std::equal(one.values().begin(), one.values().end(), two.values().begin()));
#endif
}
