// Tests of nn/upsample_nearest.hpp and the CPU kernel backend/cpu/upsample.hpp.
#include <fergen/nn/parameters.hpp>
#include <fergen/nn/upsample_nearest.hpp>

#include <omp.h>

#include "support/gradient_check.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <tuple>

using namespace fergen;

namespace {

constexpr const char* fixture = "pooling_reference";

template <class T>
void compare_with_pytorch(const std::string& tag, double tolerance) {
  int cases = 0;
  for (const std::string& name : testing::reference_cases(fixture)) {
    if (!name.starts_with("upsample_")) continue;
    CAPTURE(name);
    const npz_archive ref = testing::load_reference(fixture, name);
    nn::upsample_nearest<cpu<T>> up(testing::values_of<std::int64_t>(ref, "args")[0]);
    auto ctx = context<cpu<T>>::train();
    const auto y = up.forward(ctx, testing::to_tensor<T>(testing::member(ref, "x")));
    const auto& y_ref = testing::member(ref, "y" + tag);
    REQUIRE(y.shape() == shape{y_ref.shape[0], y_ref.shape[1], y_ref.shape[2], y_ref.shape[3]});
    CHECK(testing::max_relative_difference(y, y_ref) <= tolerance);
    const auto dx = up.backward(ctx, testing::to_tensor<T>(testing::member(ref, "dy")));
    const auto& dx_ref = testing::member(ref, "dx" + tag);
    REQUIRE(dx.shape() == shape{dx_ref.shape[0], dx_ref.shape[1], dx_ref.shape[2], dx_ref.shape[3]});
    CHECK(testing::max_relative_difference(dx, dx_ref) <= tolerance);
    ++cases;
  }
  CHECK(cases == 4);
}

}  // namespace

TEST_CASE("upsample_nearest forward and backward equal torch.nn.Upsample(mode='nearest')") {
  compare_with_pytorch<float>("32", 1e-5);
  compare_with_pytorch<double>("64", 1e-12);
}

TEST_CASE("upsample_nearest gradients match finite differences") {
  using B = cpu<double>;
  for (const std::int64_t scale : {1, 2, 3}) {
    CAPTURE(scale);
    nn::upsample_nearest<B> up(scale);
    testing::check_gradients(up, {2, 3, 4, 5});
  }
}

TEST_CASE("upsample_nearest copies each pixel into a block") {
  using B = cpu<float>;
  auto ctx = context<B>::eval();
  const float values[] = {1, 2, 3, 4, 5, 6};
  static_assert(nn::layer<nn::upsample_nearest<B>>);
  nn::upsample_nearest<B> up(2);
  const auto y = up.forward(ctx, tensor<B>::from(values, {1, 1, 2, 3}));
  const float expected[] = {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6};
  REQUIRE(y.shape() == shape{1, 1, 4, 6});
  CHECK(std::equal(y.values().begin(), y.values().end(), std::begin(expected)));
  CHECK(nn::parameter_names(up).empty());
  CHECK(up.output_shape({0, 3, 5, 7}) == shape{0, 3, 10, 14});
}

TEST_CASE("upsample_nearest results do not depend on the number of threads") {
  using B = cpu<float>;
  const auto x = testing::random_tensor<float>({4, 16, 24, 23}, 3);
  const auto dy = testing::random_tensor<float>({4, 16, 48, 46}, 4);
  auto once = [&](int threads) {
    omp_set_num_threads(threads);
    nn::upsample_nearest<B> up(2);
    auto ctx = context<B>::train();
    const auto y = up.forward(ctx, x);
    return std::tuple{y, up.backward(ctx, dy)};
  };
  const auto [y1, dx1] = once(1);
  const auto [y2, dx2] = once(2);
  omp_set_num_threads(1);
  CHECK(std::equal(y1.values().begin(), y1.values().end(), y2.values().begin()));
  CHECK(std::equal(dx1.values().begin(), dx1.values().end(), dx2.values().begin()));
}

TEST_CASE("upsample_nearest reports bad scales and inputs") {
  using B = cpu<float>;
  auto ctx = context<B>::train();
  CHECK_THROWS_WITH_AS(nn::upsample_nearest<B>(0), doctest::Contains("scale factor 0 must be a positive integer"),
                       error);
  CHECK_THROWS_WITH_AS(nn::upsample_nearest<B>(-2), doctest::Contains("scale factor -2"), error);
  nn::upsample_nearest<B> up(2);
  CHECK_THROWS_WITH_AS(up.forward(ctx, tensor<B>({1, 3, 0, 4})),
                       doctest::Contains("upsample_nearest(x2): input [1, 3, 0, 4] has an empty or negative dimension"),
                       error);
  CHECK_THROWS_WITH_AS(up.backward(ctx, tensor<B>({1, 3, 4, 4})),
                       doctest::Contains("upsample_nearest(x2): backward without a recorded forward"), error);
  up.forward(ctx, tensor<B>({1, 3, 2, 2}));
  CHECK_THROWS_WITH_AS(up.backward(ctx, tensor<B>({1, 3, 4, 5})),
                       doctest::Contains("gradient [1, 3, 4, 5] does not match the output [1, 3, 4, 4] of input "
                                         "[1, 3, 2, 2]"),
                       error);
  auto eval = context<B>::eval();
  up.forward(eval, tensor<B>({1, 3, 2, 2}));
  CHECK_THROWS_WITH_AS(up.backward(ctx, tensor<B>({1, 3, 4, 4})), doctest::Contains("without a recorded forward"),
                       error);
}
