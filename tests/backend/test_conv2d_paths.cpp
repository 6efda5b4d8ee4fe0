// Tests of the CPU convolution's paths (backend/cpu/kernels.hpp): oneDNN's primitives (conv2d_onednn.hpp), Winograd /
// im2col over oneDNN's sgemm, and the automatic choice between them, each against the reference path computed in
// double: forward with and without bias, data gradient, weight and bias gradients (which accumulate), on the
// geometries fergen's networks use and on the awkward ones (odd sizes, dilation, asymmetric kernels and strides,
// rows that PyTorch's floor leaves unread, batch 1, one input channel). In a build without oneDNN every choice runs
// the reference path and the test checks that too.
#include <fergen/backend/cpu/activations.hpp>
#include <fergen/backend/cpu/batch_norm.hpp>
#include <fergen/backend/cpu/conv2d.hpp>
#include <fergen/backend/cpu/conv2d_fused.hpp>

#include "support/gradient_check.hpp"

#include <doctest/doctest.h>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

using namespace fergen;

namespace {

struct conv_case {
  std::string name;
  shape x;
  std::int64_t out;
  ops::conv2d_geometry g;
};

// kernel h w, stride h w, padding h w, dilation h w.
const std::vector<conv_case> cases = {
    {"3x3 padded (UNet, VGG)", {2, 16, 12, 12}, 32, {3, 3, 1, 1, 1, 1, 1, 1}},
    {"3x3 from one channel (UNet's input)", {3, 1, 16, 16}, 16, {3, 3, 1, 1, 1, 1, 1, 1}},
    {"3x3 stride 2 (UNet's downsampling)", {2, 16, 16, 16}, 16, {3, 3, 2, 2, 1, 1, 1, 1}},
    {"3x3 stride 2 odd size", {2, 8, 9, 7}, 12, {3, 3, 2, 2, 1, 1, 1, 1}},
    {"3x3 stride 2 valid (Inception), a row left unread", {1, 8, 10, 10}, 8, {3, 3, 2, 2, 0, 0, 1, 1}},
    {"1x1 pointwise", {2, 24, 7, 7}, 40, {1, 1, 1, 1, 0, 0, 1, 1}},
    {"1x1 stride 2 (ResNet's projection)", {2, 16, 9, 9}, 32, {1, 1, 2, 2, 0, 0, 1, 1}},
    {"7x7 stride 2 (ResNet's stem)", {1, 3, 23, 23}, 16, {7, 7, 2, 2, 3, 3, 1, 1}},
    {"1x7 (Inception)", {2, 8, 9, 9}, 8, {1, 7, 1, 1, 0, 3, 1, 1}},
    {"7x1 (Inception)", {2, 8, 9, 9}, 8, {7, 1, 1, 1, 3, 0, 1, 1}},
    {"5x5 (Inception)", {1, 6, 11, 11}, 8, {5, 5, 1, 1, 2, 2, 1, 1}},
    {"dilated", {1, 4, 11, 11}, 6, {3, 3, 1, 1, 2, 2, 2, 2}},
    {"asymmetric stride", {2, 4, 11, 10}, 6, {2, 3, 2, 1, 1, 0, 1, 1}},
    {"small map (ResNet's last stage)", {4, 32, 3, 3}, 32, {3, 3, 1, 1, 1, 1, 1, 1}},
};

tensor<cpu<float>> to_float(const tensor<cpu<double>>& t) {
  auto out = tensor<cpu<float>>::uninitialized(t.shape());
  std::transform(t.data(), t.data() + t.size(), out.data(), [](double v) { return static_cast<float>(v); });
  return out;
}

// max |got - want| / max |want|: want is the double reference, or another path's float result (paths that sum in a
// different order differ by rounding).
template <class Want>
double relative_error(const tensor<cpu<float>>& got, const tensor<Want>& want) {
  double diff = 0, scale = 1e-30;
  for (std::int64_t i = 0; i < want.size(); ++i) {
    const double w = static_cast<double>(want.data()[i]);
    diff = std::max(diff, std::abs(static_cast<double>(got.data()[i]) - w));
    scale = std::max(scale, std::abs(w));
  }
  return diff / scale;
}

}  // namespace

TEST_CASE("every CPU convolution path agrees with the double-precision reference: forward, data, weight and bias gradients") {
  using F = cpu<float>;
  using D = cpu<double>;
  const double tolerance = 2e-6;
  for (const auto kernels : {cpu_kernels::onednn, cpu_kernels::onednn_gemm, cpu_kernels::automatic, cpu_kernels::reference}) {
    CAPTURE(to_string(kernels));
    for (const auto& c : cases) {
      CAPTURE(c.name);
      const shape ws{c.out, c.x.c, c.g.kernel_h, c.g.kernel_w};
      const shape ys = c.g.output(c.x, c.out);
      const auto x64 = testing::random_tensor<double>(c.x, 1), w64 = testing::random_tensor<double>(ws, 2),
                 b64 = testing::random_tensor<double>({c.out, 1, 1, 1}, 3), dy64 = testing::random_tensor<double>(ys, 4);
      // Gradients accumulate: both start from the same non-zero values.
      const auto dw0 = testing::random_tensor<double>(ws, 5), db0 = testing::random_tensor<double>({c.out, 1, 1, 1}, 6);

      auto ctx64 = context<D>::train();
      const auto y64 = ops::conv2d<D>::forward(ctx64, x64, w64, &b64, c.g);
      const auto y64_nobias = ops::conv2d<D>::forward(ctx64, x64, w64, nullptr, c.g);
      const auto dx64 = ops::conv2d<D>::backward_data(ctx64, dy64, w64, c.x, c.g);
      auto dw64 = dw0.clone(), db64 = db0.clone();
      ops::conv2d<D>::backward_weight(ctx64, dy64, x64, c.g, &dw64, &db64);

      auto ctx = context<F>::train();
      ctx.resources.kernels = kernels;
      const auto x = to_float(x64), w = to_float(w64), b = to_float(b64), dy = to_float(dy64);
      CHECK(relative_error(ops::conv2d<F>::forward(ctx, x, w, &b, c.g), y64) <= tolerance);
      CHECK(relative_error(ops::conv2d<F>::forward(ctx, x, w, nullptr, c.g), y64_nobias) <= tolerance);
      ctx.record = false;  // inference: oneDNN may take another kernel
      CHECK(relative_error(ops::conv2d<F>::forward(ctx, x, w, &b, c.g), y64) <= tolerance);
      ctx.record = true;
      CHECK(relative_error(ops::conv2d<F>::backward_data(ctx, dy, w, c.x, c.g), dx64) <= tolerance);
      auto dw = to_float(dw0), db = to_float(db0);
      ops::conv2d<F>::backward_weight(ctx, dy, x, c.g, &dw, &db);
      CHECK(relative_error(dw, dw64) <= tolerance);
      CHECK(relative_error(db, db64) <= tolerance);
      // Weight gradient alone (bias frozen), and bias alone (weight frozen).
      auto dw_only = to_float(dw0), db_only = to_float(db0);
      ops::conv2d<F>::backward_weight(ctx, dy, x, c.g, &dw_only, nullptr);
      ops::conv2d<F>::backward_weight(ctx, dy, x, c.g, nullptr, &db_only);
      CHECK(relative_error(dw_only, dw64) <= tolerance);
      CHECK(relative_error(db_only, db64) <= tolerance);
    }
  }
}

TEST_CASE("the fused convolution (BatchNorm and ReLU as its epilogue) gives the bits of the three ops on every path") {
  using F = cpu<float>;
  std::int64_t compared = 0;
  for (const auto kernels : {cpu_kernels::onednn, cpu_kernels::onednn_gemm, cpu_kernels::automatic, cpu_kernels::reference}) {
    CAPTURE(to_string(kernels));
    for (const auto& c : cases) {
      CAPTURE(c.name);
      const shape ws{c.out, c.x.c, c.g.kernel_h, c.g.kernel_w}, channel{c.out, 1, 1, 1};
      const auto x = testing::random_tensor<float>(c.x, 11), w = testing::random_tensor<float>(ws, 12),
                 b = testing::random_tensor<float>(channel, 13), gamma = testing::random_tensor<float>(channel, 14),
                 beta = testing::random_tensor<float>(channel, 15);
      // Running statistics as a trained network has them: means off zero (some large against the spread, where
      // the mean's rounding matters), variances positive.
      auto mean = testing::random_tensor<float>(channel, 16), var = testing::random_tensor<float>(channel, 17);
      for (std::int64_t i = 0; i < c.out; ++i) {
        mean.data()[i] = mean.data()[i] * (i % 3 == 0 ? 40.0f : 1.0f);
        var.data()[i] = 0.05f + var.data()[i] * var.data()[i];
      }
      auto ctx = context<F>::eval();
      ctx.resources.kernels = kernels;
      for (const bool affine : {true, false}) {
        for (const int variant : {0, 1, 2}) {  // BatchNorm and ReLU, BatchNorm alone, ReLU alone
          for (const bool with_bias : {true, false}) {
            CAPTURE(affine);
            CAPTURE(variant);
            CAPTURE(with_bias);
            const tensor<F>* bias = with_bias ? &b : nullptr;
            const ops::running_normalization<F> n{affine ? &gamma : nullptr, affine ? &beta : nullptr, &mean, &var, 1e-3};
            const ops::conv2d_epilogue<F> after{variant == 2 ? nullptr : &n, variant != 1};
            tensor<F> want = ops::conv2d<F>::forward(ctx, x, w, bias, c.g);
            if (variant != 2) want = ops::batch_norm<F>::forward_inference(ctx, want, n.weight, n.bias, mean, var, n.eps).y;
            if (variant != 1) want = ops::activation<F>::forward(ctx, want, ops::relu_function{});
            const tensor<F> got = ops::conv2d_fused<F>::forward(ctx, x, w, bias, c.g, after);
            REQUIRE(got.shape() == want.shape());
            // fergen's own paths compute the same float operations in the same order: the same bits. oneDNN's
            // post-ops do too with Debian's 2.6 (sub, mul, add, max), but another version may contract them.
            std::int64_t differ = 0;
            for (std::int64_t i = 0; i < got.size(); ++i) differ += got.data()[i] != want.data()[i];
            if (kernels == cpu_kernels::reference || kernels == cpu_kernels::onednn_gemm) CHECK(differ == 0);
            CHECK(relative_error(got, want) <= 1e-6);
            ++compared;
          }
        }
      }
    }
  }
  CHECK(compared == 4 * static_cast<std::int64_t>(cases.size()) * 12);
}

TEST_CASE("the fused convolution checks the normalisation it is given") {
  using F = cpu<float>;
  const auto x = testing::random_tensor<float>({1, 2, 5, 5}, 1), w = testing::random_tensor<float>({4, 2, 3, 3}, 2);
  const auto four = testing::random_tensor<float>({4, 1, 1, 1}, 3), three = testing::random_tensor<float>({3, 1, 1, 1}, 4);
  auto ctx = context<F>::eval();
  const ops::conv2d_geometry g{3, 3, 1, 1, 1, 1, 1, 1};
  const ops::running_normalization<F> wrong_mean{nullptr, nullptr, &three, &four, 1e-5};
  CHECK_THROWS_WITH_AS(ops::conv2d_fused<F>::forward(ctx, x, w, nullptr, g, {&wrong_mean, true}),
                       doctest::Contains("running_mean holds 3 values"), error);
  const ops::running_normalization<F> negative_eps{nullptr, nullptr, &four, &four, -1};
  CHECK_THROWS_WITH_AS(ops::conv2d_fused<F>::forward(ctx, x, w, nullptr, g, {&negative_eps, false}),
                       doctest::Contains("eps must be finite and non-negative"), error);
}

TEST_CASE("the convolution paths run at any thread count, and the choice of a context is its own") {
  using F = cpu<float>;
  const conv_case& c = cases.front();
  const shape ys = c.g.output(c.x, c.out);
  const auto x = testing::random_tensor<float>(c.x, 7), w = testing::random_tensor<float>({c.out, c.x.c, 3, 3}, 8);
  const auto dy = testing::random_tensor<float>(ys, 9);
  auto run = [&](cpu_kernels k, int threads) {
    omp_set_num_threads(threads);
    auto ctx = context<F>::train();
    ctx.resources.kernels = k;
    auto dw = tensor<F>(w.shape());
    ops::conv2d<F>::backward_weight(ctx, dy, x, c.g, &dw, nullptr);
    return std::vector<tensor<F>>{ops::conv2d<F>::forward(ctx, x, w, nullptr, c.g),
                                  ops::conv2d<F>::backward_data(ctx, dy, w, c.x, c.g), dw};
  };
  const auto one = run(cpu_kernels::onednn, 1), two = run(cpu_kernels::onednn, 2), ref = run(cpu_kernels::reference, 2);
  omp_set_num_threads(1);
  for (std::size_t i = 0; i < one.size(); ++i) {
    CAPTURE(i);
    CHECK(relative_error(one[i], two[i]) <= 2e-6);
    CHECK(relative_error(one[i], ref[i]) <= 2e-6);
  }
  // A new context starts with the process-wide default, and changing that default leaves existing contexts alone.
  const cpu_kernels before = default_cpu_kernels();
  auto ctx = context<F>::train();
  CHECK(ctx.resources.kernels == before);
  set_default_cpu_kernels(cpu_kernels::reference);
  CHECK(context<F>::train().resources.kernels == cpu_kernels::reference);
  CHECK(ctx.resources.kernels == before);
  set_default_cpu_kernels(before);
}
