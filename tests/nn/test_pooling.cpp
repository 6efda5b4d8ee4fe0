// Tests of nn/max_pool2d.hpp, nn/avg_pool2d.hpp, nn/adaptive_avg_pool2d.hpp and the CPU kernels
// backend/cpu/pooling.hpp.
#include <fergen/nn/adaptive_avg_pool2d.hpp>
#include <fergen/nn/avg_pool2d.hpp>
#include <fergen/nn/max_pool2d.hpp>
#include <fergen/nn/parameters.hpp>

#include <omp.h>

#include "support/gradient_check.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

using namespace fergen;

namespace {

constexpr const char* fixture = "pooling_reference";

shape shape_of(const npy_array& a) {
  REQUIRE(a.shape.size() == 4);
  return {a.shape[0], a.shape[1], a.shape[2], a.shape[3]};
}

template <class T>
void check_close(const tensor<cpu<T>>& actual, const npz_archive& ref, const std::string& key, double tolerance) {
  CAPTURE(key);
  const npy_array& expected = testing::member(ref, key);
  REQUIRE(actual.shape() == shape_of(expected));
  const double difference = testing::max_relative_difference(actual, expected);
  CAPTURE(difference);
  CHECK(difference <= tolerance);
}

// Bit-for-bit, NaN equal to NaN: the tie cases hold infinities and NaNs, which a relative difference hides.
template <class T>
void check_identical(const tensor<cpu<T>>& actual, const npz_archive& ref, const std::string& key) {
  CAPTURE(key);
  const npy_array& expected = testing::member(ref, key);
  REQUIRE(actual.shape() == shape_of(expected));
  const std::vector<T> values = expected.values<T>();
  std::int64_t mismatches = 0, first = -1;
  for (std::int64_t i = 0; i < actual.size(); ++i) {
    const T a = actual.data()[i], b = values[static_cast<std::size_t>(i)];
    if (!(a == b || (std::isnan(a) && std::isnan(b)))) {
      if (first < 0) first = i;
      ++mismatches;
    }
  }
  CAPTURE(first);
  CHECK(mismatches == 0);
}

template <class B>
nn::max_pool2d<B> max_pool_from(const std::vector<std::int64_t>& a) {
  return nn::max_pool2d<B>(
      {.kernel = {a[0], a[1]}, .stride = size2{a[2], a[3]}, .padding = {a[4], a[5]}, .ceil_mode = a[6] != 0});
}

template <class B>
nn::avg_pool2d<B> avg_pool_from(const std::vector<std::int64_t>& a) {
  return nn::avg_pool2d<B>({.kernel = {a[0], a[1]},
                            .stride = size2{a[2], a[3]},
                            .padding = {a[4], a[5]},
                            .ceil_mode = a[6] != 0,
                            .count_include_pad = a[7] != 0});
}

// Bit-for-bit, NaN equal to NaN.
template <class T>
std::int64_t mismatches(const tensor<cpu<T>>& a, const tensor<cpu<T>>& b) {
  REQUIRE(a.shape() == b.shape());
  std::int64_t count = 0;
  for (std::int64_t i = 0; i < a.size(); ++i) {
    const T u = a.data()[i], v = b.data()[i];
    if (!(u == v || (std::isnan(u) && std::isnan(v)))) ++count;
  }
  return count;
}

// Runs one layer on a reference case: forward and backward with PyTorch's input and upstream gradient. The
// forward in inference (max pooling's values-only kernel) must give the training forward's values exactly.
template <class T, class Layer>
std::tuple<tensor<cpu<T>>, tensor<cpu<T>>> run(Layer& layer, const npz_archive& ref) {
  const auto x = testing::to_tensor<T>(testing::member(ref, "x"));
  auto eval = context<cpu<T>>::eval();
  const auto y_eval = layer.forward(eval, x);
  auto ctx = context<cpu<T>>::train();
  auto y = layer.forward(ctx, x);
  REQUIRE(y.shape() == layer.output_shape(x.shape()));
  CHECK(mismatches(y_eval, y) == 0);
  auto dx = layer.backward(ctx, testing::to_tensor<T>(testing::member(ref, "dy")));
  return {y, dx};
}

template <class T>
std::tuple<tensor<cpu<T>>, tensor<cpu<T>>> run_case(const std::string& name, const npz_archive& ref) {
  using B = cpu<T>;
  const auto args = testing::values_of<std::int64_t>(ref, "args");
  if (name.starts_with("max_")) {
    auto pool = max_pool_from<B>(args);
    return run<T>(pool, ref);
  }
  if (name.starts_with("avg_")) {
    auto pool = avg_pool_from<B>(args);
    return run<T>(pool, ref);
  }
  REQUIRE(name.starts_with("adaptive_"));
  nn::adaptive_avg_pool2d<B> pool({args[0], args[1]});
  return run<T>(pool, ref);
}

template <class T>
void compare_with_pytorch(const std::string& tag, double tolerance) {
  int cases = 0;
  for (const std::string& name : testing::reference_cases(fixture)) {
    if (name.starts_with("upsample_") || name.starts_with("max_ties")) continue;
    CAPTURE(name);
    const npz_archive ref = testing::load_reference(fixture, name);
    const auto [y, dx] = run_case<T>(name, ref);
    check_close(y, ref, "y" + tag, tolerance);
    check_close(dx, ref, "dx" + tag, tolerance);
    ++cases;
  }
  CHECK(cases >= 25);
}

template <class Layer>
void check_layer_gradients(Layer layer, shape input) {
  CAPTURE(layer.describe());
  CAPTURE(input);
  testing::check_gradients(layer, input);
}

}  // namespace

TEST_CASE("pooling forward and backward equal PyTorch in float32 (ResNet, Inception and VGG geometries)") {
  compare_with_pytorch<float>("32", 1e-5);
}

TEST_CASE("pooling forward and backward equal PyTorch in float64") { compare_with_pytorch<double>("64", 1e-12); }

TEST_CASE("max_pool2d breaks ties, -inf windows and NaNs as PyTorch does") {
  int cases = 0;
  for (const std::string& name : testing::reference_cases(fixture)) {
    if (!name.starts_with("max_ties")) continue;
    CAPTURE(name);
    const npz_archive ref = testing::load_reference(fixture, name);
    {
      const auto [y, dx] = run_case<float>(name, ref);
      check_identical(y, ref, "y32");
      check_identical(dx, ref, "dx32");
    }
    const auto [y, dx] = run_case<double>(name, ref);
    check_identical(y, ref, "y64");
    check_identical(dx, ref, "dx64");
    ++cases;
  }
  CHECK(cases == 5);
}

TEST_CASE("max_pool2d gradients match finite differences") {
  using B = cpu<double>;
  check_layer_gradients(nn::max_pool2d<B>({.kernel = 3, .stride = 2, .padding = 1}), {2, 3, 9, 9});   // ResNet stem
  check_layer_gradients(nn::max_pool2d<B>({.kernel = 3, .stride = 2}), {2, 2, 9, 9});                 // Inception
  check_layer_gradients(nn::max_pool2d<B>({.kernel = 2, .stride = 2}), {2, 2, 8, 8});                 // VGG
  check_layer_gradients(nn::max_pool2d<B>({.kernel = 2}), {1, 2, 7, 9});                              // stride = kernel
  check_layer_gradients(nn::max_pool2d<B>({.kernel = 3, .stride = 2, .ceil_mode = true}), {1, 3, 8, 7});
  check_layer_gradients(nn::max_pool2d<B>({.kernel = 3, .stride = 1, .padding = 1}), {1, 2, 6, 5});   // overlapping
  check_layer_gradients(
      nn::max_pool2d<B>({.kernel = {2, 3}, .stride = size2{3, 2}, .padding = 1, .ceil_mode = true}), {1, 3, 11, 9});
}

TEST_CASE("avg_pool2d gradients match finite differences") {
  using B = cpu<double>;
  // Inception's branch_pool, with and without the padding counted.
  check_layer_gradients(nn::avg_pool2d<B>({.kernel = 3, .stride = 1, .padding = 1}), {2, 2, 7, 6});
  check_layer_gradients(nn::avg_pool2d<B>({.kernel = 3, .stride = 1, .padding = 1, .count_include_pad = false}),
                        {2, 2, 7, 6});
  for (const bool include : {true, false}) {
    CAPTURE(include);
    check_layer_gradients(
        nn::avg_pool2d<B>({.kernel = 3, .stride = 2, .padding = 1, .ceil_mode = true, .count_include_pad = include}),
        {1, 2, 8, 7});
    check_layer_gradients(nn::avg_pool2d<B>({.kernel = 2, .ceil_mode = true, .count_include_pad = include}),
                          {1, 2, 7, 9});
  }
  check_layer_gradients(nn::avg_pool2d<B>({.kernel = 5, .stride = 3}), {1, 2, 11, 11});  // InceptionAux
}

TEST_CASE("adaptive_avg_pool2d gradients match finite differences") {
  using B = cpu<double>;
  check_layer_gradients(nn::adaptive_avg_pool2d<B>(7), {2, 2, 5, 5});    // VGG at 160x160: replicates
  check_layer_gradients(nn::adaptive_avg_pool2d<B>(7), {1, 2, 10, 10});  // overlapping windows
  check_layer_gradients(nn::adaptive_avg_pool2d<B>({4, 3}), {2, 2, 9, 7});
  check_layer_gradients(nn::adaptive_avg_pool2d<B>(1), {2, 3, 5, 4});    // global average
}

TEST_CASE("adaptive_avg_pool2d to (1, 1) is the plane mean and to the input size is the identity") {
  using B = cpu<double>;
  auto ctx = context<B>::eval();
  const auto x = testing::random_tensor({2, 3, 5, 4}, 9);
  nn::adaptive_avg_pool2d<B> global(1);
  const auto y = global.forward(ctx, x);
  REQUIRE(y.shape() == shape{2, 3, 1, 1});
  for (std::int64_t p = 0; p < 6; ++p) {
    double sum = 0;
    for (std::int64_t i = 0; i < 20; ++i) sum += x.data()[p * 20 + i];
    CHECK(y.data()[p] == doctest::Approx(sum / 20).epsilon(1e-14));
  }
  nn::adaptive_avg_pool2d<B> same({5, 4});
  const auto z = same.forward(ctx, x);
  CHECK(std::equal(z.values().begin(), z.values().end(), x.values().begin()));
}

TEST_CASE("pooling results do not depend on the number of threads") {
  using B = cpu<float>;
  const shape input{4, 16, 20, 19};
  const auto x = testing::random_tensor<float>(input, 5);
  auto run_twice = [&](auto layer) {
    auto once = [&](int threads) {
      omp_set_num_threads(threads);
      auto ctx = context<B>::train();
      const auto y = layer.forward(ctx, x);
      const auto dy = testing::random_tensor<float>(y.shape(), 6);
      return std::tuple{y, layer.backward(ctx, dy)};
    };
    const auto [y1, dx1] = once(1);
    const auto [y2, dx2] = once(2);
    omp_set_num_threads(1);
    CHECK(std::equal(y1.values().begin(), y1.values().end(), y2.values().begin()));
    CHECK(std::equal(dx1.values().begin(), dx1.values().end(), dx2.values().begin()));
  };
  run_twice(nn::max_pool2d<B>({.kernel = 3, .stride = 2, .padding = 1}));
  run_twice(nn::avg_pool2d<B>({.kernel = 3, .stride = 1, .padding = 1}));
  run_twice(nn::adaptive_avg_pool2d<B>(7));
}

TEST_CASE("pooling layers have no parameters and keep nothing in inference") {
  using B = cpu<float>;
  static_assert(nn::layer<nn::max_pool2d<B>> && nn::layer<nn::avg_pool2d<B>> && nn::layer<nn::adaptive_avg_pool2d<B>>);
  nn::max_pool2d<B> max_pool({.kernel = 2});
  nn::avg_pool2d<B> avg_pool({.kernel = 2});
  nn::adaptive_avg_pool2d<B> adaptive(1);
  CHECK(nn::parameter_names(max_pool).empty());
  CHECK(nn::parameter_names(avg_pool).empty());
  CHECK(nn::parameter_names(adaptive).empty());
  // A forward without ctx.record leaves nothing to backpropagate through, even after a recorded one.
  auto train = context<B>::train();
  auto eval = context<B>::eval();
  const tensor<B> x({1, 2, 4, 4});
  max_pool.forward(train, x);
  max_pool.forward(eval, x);
  CHECK_THROWS_WITH_AS(max_pool.backward(train, tensor<B>({1, 2, 2, 2})),
                       doctest::Contains("without a recorded forward"), error);
  avg_pool.forward(train, x);
  avg_pool.forward(eval, x);
  CHECK_THROWS_WITH_AS(avg_pool.backward(train, tensor<B>({1, 2, 2, 2})),
                       doctest::Contains("without a recorded forward"), error);
}

TEST_CASE("pooling reports bad geometry and inputs with the values and shapes involved") {
  using B = cpu<float>;
  auto ctx = context<B>::train();
  SUBCASE("padding more than half the kernel") {
    CHECK_THROWS_WITH_AS(nn::max_pool2d<B>({.kernel = 3, .stride = 2, .padding = 2}),
                         doctest::Contains("max_pool2d(3x3, stride 2x2, padding 2x2): padding 2x2 exceeds half the "
                                           "3x3 kernel"),
                         error);
    CHECK_THROWS_WITH_AS(nn::avg_pool2d<B>({.kernel = {3, 1}, .padding = {1, 1}}),
                         doctest::Contains("padding 1x1 exceeds half the 3x1 kernel"), error);
  }
  SUBCASE("kernel larger than the padded input") {
    nn::max_pool2d<B> pool({.kernel = 3, .stride = 2});
    CHECK_THROWS_WITH_AS(pool.forward(ctx, tensor<B>({1, 4, 2, 8})),
                         doctest::Contains("input [1, 4, 2, 8] is smaller than the 3x3 kernel with padding 0x0"),
                         error);
    CHECK_THROWS_WITH_AS(pool.output_shape({1, 4, 8, 2}), doctest::Contains("input [1, 4, 8, 2]"), error);
    nn::avg_pool2d<B> avg({.kernel = 5, .padding = 1});
    CHECK_THROWS_WITH_AS(avg.forward(ctx, tensor<B>({2, 1, 2, 2})),
                         doctest::Contains("avg_pool2d(5x5, stride 5x5, padding 1x1): input [2, 1, 2, 2] is smaller "
                                           "than the 5x5 kernel"),
                         error);
    // In ceil mode PyTorch keeps a window that hangs past a too-small input, as long as it starts inside.
    nn::max_pool2d<B> ceil_pool({.kernel = 3, .stride = 2, .ceil_mode = true});
    CHECK(ceil_pool.output_shape({1, 1, 2, 2}) == shape{1, 1, 1, 1});
  }
  SUBCASE("zero or negative sizes") {
    CHECK_THROWS_WITH_AS(nn::max_pool2d<B>({.kernel = 0}), doctest::Contains("max_pool2d(0x0"), error);
    CHECK_THROWS_WITH_AS(nn::max_pool2d<B>({.kernel = 2, .stride = 0}), doctest::Contains("stride 0x0"), error);
    CHECK_THROWS_WITH_AS(nn::avg_pool2d<B>({.kernel = 3, .stride = size2{1, -1}}), doctest::Contains("stride 1x-1"),
                         error);
    CHECK_THROWS_WITH_AS(nn::avg_pool2d<B>({.kernel = 3, .padding = {-1, 0}}), doctest::Contains("padding -1x0"),
                         error);
    CHECK_THROWS_WITH_AS(nn::adaptive_avg_pool2d<B>({0, 7}), doctest::Contains("adaptive_avg_pool2d(0x7)"), error);
    CHECK_THROWS_WITH_AS(nn::adaptive_avg_pool2d<B>({7, -2}), doctest::Contains("adaptive_avg_pool2d(7x-2)"), error);
    nn::max_pool2d<B> pool({.kernel = 2});
    CHECK_THROWS_WITH_AS(pool.forward(ctx, tensor<B>({1, 3, 0, 4})),
                         doctest::Contains("input [1, 3, 0, 4] has an empty or negative dimension"), error);
    nn::adaptive_avg_pool2d<B> adaptive(7);
    CHECK_THROWS_WITH_AS(adaptive.forward(ctx, tensor<B>({1, 0, 5, 5})),
                         doctest::Contains("adaptive_avg_pool2d(7x7): input [1, 0, 5, 5] has an empty"), error);
  }
  SUBCASE("backward without forward, or with a gradient of the wrong shape") {
    nn::max_pool2d<B> max_pool({.kernel = 2});
    nn::avg_pool2d<B> avg_pool({.kernel = 2});
    nn::adaptive_avg_pool2d<B> adaptive(3);
    CHECK_THROWS_WITH_AS(max_pool.backward(ctx, tensor<B>({1, 1, 2, 2})),
                         doctest::Contains("max_pool2d(2x2, stride 2x2, padding 0x0): backward without a recorded "
                                           "forward"),
                         error);
    CHECK_THROWS_WITH_AS(avg_pool.backward(ctx, tensor<B>({1, 1, 2, 2})),
                         doctest::Contains("avg_pool2d(2x2, stride 2x2, padding 0x0): backward without"), error);
    CHECK_THROWS_WITH_AS(adaptive.backward(ctx, tensor<B>({1, 1, 3, 3})),
                         doctest::Contains("adaptive_avg_pool2d(3x3): backward without"), error);
    const tensor<B> x({2, 3, 6, 6});
    max_pool.forward(ctx, x);
    CHECK_THROWS_WITH_AS(max_pool.backward(ctx, tensor<B>({2, 3, 4, 4})),
                         doctest::Contains("gradient [2, 3, 4, 4] does not match the output [2, 3, 3, 3] of input "
                                           "[2, 3, 6, 6]"),
                         error);
    avg_pool.forward(ctx, x);
    CHECK_THROWS_WITH_AS(avg_pool.backward(ctx, tensor<B>({2, 4, 3, 3})),
                         doctest::Contains("gradient [2, 4, 3, 3] does not match the output [2, 3, 3, 3]"), error);
    adaptive.forward(ctx, x);
    CHECK_THROWS_WITH_AS(adaptive.backward(ctx, tensor<B>({2, 3, 2, 3})),
                         doctest::Contains("gradient [2, 3, 2, 3] does not match the output [2, 3, 3, 3]"), error);
  }
}
