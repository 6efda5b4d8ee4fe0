// Tests of nn/conv2d.hpp and the CPU kernel backend/cpu/conv2d.hpp.
#include <fergen/nn/conv2d.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/parameters.hpp>

#include <omp.h>
#include <xtensor/xoperation.hpp>

#include <tuple>

#include "support/gradient_check.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace fergen;

namespace {

template <class T>
nn::conv2d<cpu<T>> conv_from_reference(const npz_archive& ref) {
  const auto g = testing::values_of<std::int64_t>(ref, "geometry");
  const auto& w = testing::member(ref, "w");
  const bool bias = testing::values_of<std::int64_t>(ref, "has_bias")[0] != 0;
  nn::conv2d<cpu<T>> conv(w.shape[1], w.shape[0],
                          {.kernel = {g[0], g[1]}, .stride = {g[2], g[3]}, .padding = {g[4], g[5]},
                           .dilation = {g[6], g[7]}, .bias = bias});
  conv.weight().value.copy_from(w.values<T>());
  if (bias) conv.bias()->value.copy_from(testing::values_of<T>(ref, "b"));
  return conv;
}

template <class T>
void compare_with_pytorch(const std::string& tag, double tolerance) {
  for (const std::string& name : testing::reference_cases("conv2d_reference")) {
    CAPTURE(name);
    const npz_archive ref = testing::load_reference("conv2d_reference", name);
    auto conv = conv_from_reference<T>(ref);
    auto ctx = context<cpu<T>>::train();
    const auto x = testing::to_tensor<T>(testing::member(ref, "x"));
    const auto y = conv.forward(ctx, x);
    CHECK(testing::max_relative_difference(y, testing::member(ref, "y" + tag)) <= tolerance);
    const auto dx = conv.backward(ctx, testing::to_tensor<T>(testing::member(ref, "dy")));
    CHECK(testing::max_relative_difference(dx, testing::member(ref, "dx" + tag)) <= tolerance);
    CHECK(testing::max_relative_difference(conv.weight().grad, testing::member(ref, "dw" + tag)) <= tolerance);
    if (conv.bias()) CHECK(testing::max_relative_difference(conv.bias()->grad, testing::member(ref, "db" + tag)) <= tolerance);
  }
}

}  // namespace

TEST_CASE("conv2d forward and backward equal PyTorch in float32 (ResNet-50 and Inception-V3 geometries)") {
  compare_with_pytorch<float>("32", 1e-5);
}

TEST_CASE("conv2d forward and backward equal PyTorch in float64") { compare_with_pytorch<double>("64", 1e-12); }

TEST_CASE("conv2d gradients match finite differences") {
  using B = cpu<double>;
  struct geometry_case {
    std::string name;
    shape input;
    std::int64_t out;
    nn::conv2d_options options;
  };
  const geometry_case cases[] = {
      {"3x3 padded", {2, 3, 6, 5}, 4, {.kernel = 3, .padding = 1}},
      {"1x1 pointwise", {2, 5, 4, 4}, 3, {.kernel = 1}},
      {"1x1 stride 2", {2, 4, 5, 5}, 3, {.kernel = 1, .stride = 2, .bias = false}},
      {"7x7 stride 2", {1, 2, 9, 9}, 3, {.kernel = 7, .stride = 2, .padding = 3}},
      {"1x7 and padding 0x3", {2, 2, 4, 8}, 2, {.kernel = {1, 7}, .padding = {0, 3}}},
      {"7x1 and padding 3x0", {2, 2, 8, 4}, 2, {.kernel = {7, 1}, .padding = {3, 0}}},
      {"dilated", {1, 2, 7, 7}, 2, {.kernel = 3, .padding = 2, .dilation = 2}},
      {"asymmetric stride", {2, 2, 7, 6}, 3, {.kernel = {2, 3}, .stride = {2, 1}, .padding = {1, 0}}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    nn::conv2d<B> conv(c.input.c, c.out, c.options);
    testing::randomize_parameters(conv, 17);
    testing::check_gradients(conv, c.input);
  }
}

TEST_CASE("conv2d results do not depend on the number of threads") {
  using B = cpu<float>;
  for (const std::int64_t batch : {1, 3}) {
    CAPTURE(batch);
    nn::conv2d<B> conv(8, 16, {.kernel = 3, .padding = 1});
    nn::initialize(conv, 3);
    const auto x = testing::random_tensor<float>({batch, 8, 12, 12}, 5);
    const auto dy = testing::random_tensor<float>({batch, 16, 12, 12}, 6);
    auto run = [&](int threads) {
      omp_set_num_threads(threads);
      auto ctx = context<B>::train();
      nn::zero_grad(conv);
      auto y = conv.forward(ctx, x);
      auto dx = conv.backward(ctx, dy);
      return std::tuple{y, dx, conv.weight().grad.clone()};
    };
    const auto [y1, dx1, dw1] = run(1);
    const auto [y2, dx2, dw2] = run(2);
    omp_set_num_threads(1);
    CHECK(xt::allclose(y1.xt(), y2.xt(), 1e-6, 1e-6));
    CHECK(xt::allclose(dx1.xt(), dx2.xt(), 1e-6, 1e-6));
    CHECK(xt::allclose(dw1.xt(), dw2.xt(), 1e-5, 1e-5));
  }
}

TEST_CASE("conv2d reports mismatched inputs with the shapes involved") {
  using B = cpu<float>;
  nn::conv2d<B> conv(3, 8, {.kernel = 3});
  auto ctx = context<B>::train();
  SUBCASE("wrong channel count") {
    CHECK_THROWS_WITH_AS(conv.forward(ctx, tensor<B>({1, 4, 8, 8})),
                         doctest::Contains("input [1, 4, 8, 8] has 4 channels, expected 3"), error);
  }
  SUBCASE("input smaller than the kernel") {
    CHECK_THROWS_WITH_AS(conv.forward(ctx, tensor<B>({1, 3, 2, 8})), doctest::Contains("smaller than the 3x3 kernel"),
                         error);
  }
  SUBCASE("invalid geometry") {
    CHECK_THROWS_AS(nn::conv2d<B>(3, 8, {.kernel = 0}), error);
    CHECK_THROWS_AS(nn::conv2d<B>(3, 8, {.kernel = 3, .stride = 0}), error);
    CHECK_THROWS_AS(nn::conv2d<B>(0, 8, {.kernel = 3}), error);
  }
  SUBCASE("backward without forward") {
    CHECK_THROWS_WITH_AS(conv.backward(ctx, tensor<B>({1, 8, 6, 6})), doctest::Contains("without a recorded forward"),
                         error);
  }
}

TEST_CASE("conv2d skips the gradient of frozen parameters") {
  using B = cpu<double>;
  nn::conv2d<B> conv(2, 3, {.kernel = 3, .padding = 1});
  nn::initialize(conv, 1);
  conv.weight().frozen = true;
  auto ctx = context<B>::train();
  conv.forward(ctx, testing::random_tensor({1, 2, 5, 5}, 2));
  conv.backward(ctx, testing::random_tensor({1, 3, 5, 5}, 3));
  CHECK(xt::all(xt::equal(conv.weight().grad.xt(), 0.0)));
  CHECK_FALSE(xt::all(xt::equal(conv.bias()->grad.xt(), 0.0)));
}

TEST_CASE("conv2d names its parameters as torch.nn.Conv2d does") {
  nn::conv2d<cpu<float>> conv(3, 8, {.kernel = {1, 7}, .padding = {0, 3}});
  CHECK(nn::parameter_names(conv) == std::vector<std::string>{"weight", "bias"});
  CHECK(conv.weight().dims == nn::dims{8, 3, 1, 7});
  CHECK(conv.bias()->dims == nn::dims{8});
}
