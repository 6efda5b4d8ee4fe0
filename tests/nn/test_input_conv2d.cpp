// Tests of backend/channel_affine.hpp and nn/input_conv2d.hpp: a fixed affine map of the input folded into
// a network's first convolution, exactly (zero padding in the mapped space).
#include <fergen/backend/cpu/channel_affine.hpp>
#include <fergen/nn/conv2d.hpp>
#include <fergen/nn/input_conv2d.hpp>

#include "support/errors.hpp"
#include "support/gradient_check.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace fergen;
using D = cpu<double>;
using T64 = tensor<D>;

namespace {

// The map applied explicitly, channel by channel: what input_conv2d must never need to form.
T64 mapped(const T64& x, const nn::input_map& m) {
  auto ctx = context<D>::eval();
  return ops::channel_affine<D>::forward(ctx, x, {m.out_channels, m.in_channels, m.scale, m.shift});
}

double max_abs_diff(const T64& a, const T64& b) {
  REQUIRE(a.shape() == b.shape());
  double d = 0;
  for (std::int64_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a.data()[i] - b.data()[i]));
  return d;
}

// 2 inputs -> 3 weight channels, with shifts: every coefficient of the fold matters.
nn::input_map general_map() {
  return {2, 3, {0.5, -1.0, 2.0, 0.25, -0.75, 1.5}, {0.1, -0.2, 0.3}};
}

}  // namespace

TEST_CASE("channel_affine maps channels by a matrix and a shift, and checks its sizes") {
  T64 x({1, 2, 1, 2});
  x(0, 0, 0, 0) = 1, x(0, 0, 0, 1) = 2, x(0, 1, 0, 0) = 3, x(0, 1, 0, 1) = 4;
  const T64 y = mapped(x, general_map());
  REQUIRE(y.shape() == shape{1, 3, 1, 2});
  CHECK(y(0, 0, 0, 0) == doctest::Approx(0.5 * 1 - 1.0 * 3 + 0.1));
  CHECK(y(0, 1, 0, 1) == doctest::Approx(2.0 * 2 + 0.25 * 4 - 0.2));
  CHECK(y(0, 2, 0, 0) == doctest::Approx(-0.75 * 1 + 1.5 * 3 + 0.3));
  auto ctx = context<D>::eval();
  const std::vector<double> m{1, 2, 3};
  CHECK(testing::contains(testing::error_of([&] { ops::channel_affine<D>::forward(ctx, x, {1, 3, m, {}}); }),
                          "channel_affine: input [1, 2, 1, 2] has 2 channels, the 1 x 3 map expects 3"));
  CHECK(testing::contains(testing::error_of([&] { ops::channel_affine<D>::forward(ctx, x, {2, 2, m, {}}); }),
                          "a 2 x 2 map needs 4 coefficients, got 3"));
}

TEST_CASE("input_map composes, validates and recognises the identity") {
  const nn::input_map a = nn::input_map::diagonal({2, 4, 8}, {1, 1, 1});
  const nn::input_map gray{1, 3, {1, 1, 1}, {0, 0, 0}};
  const nn::input_map g_then_a = gray.then(a);
  CHECK(g_then_a.in_channels == 1);
  CHECK(g_then_a.scale == std::vector<double>{2, 4, 8});
  CHECK(g_then_a.shift == std::vector<double>{1, 1, 1});
  CHECK(nn::input_map::identity(3).is_identity());
  CHECK_FALSE(a.is_identity());
  CHECK(testing::contains(testing::error_of([&] { (void)a.then(gray); }), "a map to 3 channels cannot feed a map from 1"));
  CHECK(testing::contains(testing::error_of([] { nn::input_map{2, 3, {1}, {0, 0, 0}}.validate(); }),
                          "needs 6 scales and 3 shifts, got 1 and 3"));
}

TEST_CASE("input_conv2d equals conv2d on the mapped input, padding included, forward and backward") {
  const nn::conv2d_options o{.kernel = 3, .stride = 2, .padding = 1};
  for (const bool identity : {true, false}) {
    CAPTURE(identity);
    const nn::input_map m = identity ? nn::input_map::identity(3) : general_map();
    nn::input_conv2d<D> layer(3, 4, o, m);
    nn::conv2d<D> reference(3, 4, o);
    testing::randomize_parameters(layer, 1);
    reference.weight().value = layer.weight().value.clone();
    reference.bias()->value = layer.bias()->value.clone();

    const T64 x = testing::random_tensor({2, m.in_channels, 7, 6}, 2);
    const T64 v = mapped(x, m);
    auto c1 = context<D>::train(), c2 = context<D>::train();
    const T64 y = layer.forward(c1, x), expected = reference.forward(c2, v);
    CHECK(max_abs_diff(y, expected) < 1e-12);

    const T64 dy = testing::random_tensor(y.shape(), 3);
    const T64 dx = layer.backward(c1, dy);
    const T64 dv = reference.backward(c2, dy);
    // dx = A^T dv: the map's transpose, no shift.
    std::vector<double> transposed(static_cast<std::size_t>(m.in_channels * 3));
    for (std::int64_t i = 0; i < m.in_channels; ++i)
      for (std::int64_t c = 0; c < 3; ++c) transposed[static_cast<std::size_t>(i * 3 + c)] = m.a(c, i);
    auto ctx = context<D>::eval();
    const T64 expected_dx = ops::channel_affine<D>::forward(ctx, dv, {m.in_channels, 3, transposed, {}});
    CHECK(max_abs_diff(dx, expected_dx) < 1e-12);
    CHECK(max_abs_diff(layer.weight().grad, reference.weight().grad) < 1e-12);
    CHECK(max_abs_diff(layer.bias()->grad, reference.bias()->grad) < 1e-12);
  }
}

TEST_CASE("input_conv2d passes the gradient check: gray input, general map, identity") {
  for (const bool training : {true, false}) {
    CAPTURE(training);
    {
      const nn::input_map gray{1, 3, {1 / 0.229, 1 / 0.224, 1 / 0.225}, {-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225}};
      nn::input_conv2d<D> layer(3, 5, {.kernel = 7, .stride = 2, .padding = 3, .bias = false}, gray);
      testing::randomize_parameters(layer, 4);
      testing::check_gradients(layer, {2, 1, 9, 8}, {.training = training});
    }
    {
      nn::input_conv2d<D> layer(3, 2, {.kernel = {1, 3}, .padding = {0, 1}}, general_map());
      testing::randomize_parameters(layer, 5);
      testing::check_gradients(layer, {2, 2, 4, 5}, {.training = training});
    }
    {
      nn::input_conv2d<D> layer(3, 2, {.kernel = 3});
      testing::randomize_parameters(layer, 6);
      testing::check_gradients(layer, {1, 3, 5, 5}, {.training = training});
    }
  }
  CHECK(nn::input_conv2d<D>(3, 2, {}, general_map()).describe() == "input_conv2d(2 mapped to 3->2, 1x1, stride 1x1)");
}

TEST_CASE("input_conv2d without its input's gradient still computes the weights' and returns an empty tensor") {
  for (const bool identity : {true, false}) {
    CAPTURE(identity);
    nn::input_conv2d<D> a(3, 2, {.kernel = 3, .padding = 1},
                          identity ? std::nullopt : std::optional(general_map()));
    testing::randomize_parameters(a, 7);
    nn::input_conv2d<D> b = a;
    b.set_input_gradient(false);
    const T64 x = testing::random_tensor({2, a.in_channels(), 5, 4}, 8);
    auto c1 = context<D>::train(), c2 = context<D>::train();
    const T64 dy = testing::random_tensor(a.forward(c1, x).shape(), 9);
    b.forward(c2, x);
    CHECK(a.backward(c1, dy).shape() == x.shape());
    CHECK(b.backward(c2, dy).empty());
    CHECK(max_abs_diff(a.weight().grad, b.weight().grad) == 0);
    CHECK(max_abs_diff(a.bias()->grad, b.bias()->grad) == 0);
  }
}

TEST_CASE("input_conv2d: a frozen weight gets no gradient; bad input and maps name the layer") {
  nn::input_conv2d<D> layer(3, 2, {.kernel = 3}, general_map());
  testing::randomize_parameters(layer, 10);
  layer.weight().frozen = true;
  auto ctx = context<D>::train();
  const T64 y = layer.forward(ctx, testing::random_tensor({1, 2, 4, 4}, 11));
  layer.backward(ctx, y);
  CHECK(max_abs_diff(layer.weight().grad, T64(layer.weight().grad.shape())) == 0);
  CHECK(testing::contains(testing::error_of([&] { layer.output_shape({1, 3, 4, 4}); }),
                          "input_conv2d(2 mapped to 3->2, 3x3, stride 1x1): input [1, 3, 4, 4] has 3 channels, expected 2"));
  CHECK(testing::contains(testing::error_of([] { nn::input_conv2d<D>(4, 2, {}, general_map()); }),
                          "the input map gives 3 channels, the weights expect 4"));
  CHECK(testing::contains(testing::error_of([&] { layer.backward(ctx, y); }), "backward without a recorded forward"));
}
