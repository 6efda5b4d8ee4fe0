// Tests of nn/activation.hpp, backend/activations.hpp and backend/cpu/activations.hpp.
#include <fergen/nn/activation.hpp>
#include <fergen/nn/fast_silu.hpp>

#include "support/gradient_check.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

using namespace fergen;

namespace {
template <class T, class Layer>
void compare(Layer layer, const std::string& name, const std::string& tag, double tolerance) {
  CAPTURE(name);
  const auto ref = testing::load_reference("layers_reference", "activation_" + name);
  auto ctx = context<cpu<T>>::train();
  const auto y = layer.forward(ctx, testing::to_tensor<T>(testing::member(ref, "x")));
  CHECK(testing::max_relative_difference(y, testing::member(ref, "y" + tag)) <= tolerance);
  const auto dx = layer.backward(ctx, testing::to_tensor<T>(testing::member(ref, "dy")));
  CHECK(testing::max_relative_difference(dx, testing::member(ref, "dx" + tag)) <= tolerance);
}

template <class T>
void compare_all(const std::string& tag, double tolerance) {
  using B = cpu<T>;
  compare<T>(nn::relu<B>{}, "relu", tag, tolerance);
  compare<T>(nn::sigmoid<B>{}, "sigmoid", tag, tolerance);
  compare<T>(nn::tanh<B>{}, "tanh", tag, tolerance);
  compare<T>(nn::silu<B>{}, "silu", tag, tolerance);
  compare<T>(nn::gelu<B>{}, "gelu", tag, tolerance);
  compare<T>(nn::gelu<B>(ops::gelu_function{.tanh = true}), "gelu_tanh", tag, tolerance);
}
}  // namespace

TEST_CASE("activations equal PyTorch's values and gradients, including saturated inputs") {
  compare_all<float>("32", 1e-5);
  compare_all<double>("64", 1e-12);
}

TEST_CASE_TEMPLATE("activation gradients match finite differences", Layer, nn::relu<cpu<double>>,
                   nn::sigmoid<cpu<double>>, nn::tanh<cpu<double>>, nn::silu<cpu<double>>, nn::gelu<cpu<double>>) {
  Layer layer;
  testing::check_gradients(layer, {2, 3, 4, 5});
}

TEST_CASE("the tanh approximation of GELU has its own gradient") {
  nn::gelu<cpu<double>> layer(ops::gelu_function{.tanh = true});
  testing::check_gradients(layer, {2, 3, 4, 4});
}

TEST_CASE("activation backward needs a recorded forward") {
  using B = cpu<float>;
  nn::silu<B> layer;
  auto ctx = context<B>::eval();
  layer.forward(ctx, tensor<B>({1, 1, 2, 2}));
  CHECK_THROWS_WITH_AS(layer.backward(ctx, tensor<B>({1, 1, 2, 2})), doctest::Contains("silu: backward without"), error);
}

// The diffusion networks' SiLU (fast_silu.hpp's exponential) in float against SiLU in double with std::exp, over
// [-60, 60] (beyond, x sigmoid(x) leaves the normal floats on the left and is x on the right), on a tensor large
// enough to run on every thread through the per-instruction-set loops (vector_clones.hpp), so the processor's
// widest clone is the one checked; and beyond the exponential's clamp at |x| = 80.
TEST_CASE("fast SiLU in float: forward and backward within a few float ulp of double precision") {
  using B = cpu<float>;
  const std::int64_t n = 1 << 18;
  std::vector<float> xs(static_cast<std::size_t>(n)), gs(xs.size());
  for (std::int64_t i = 0; i < n; ++i) {
    xs[static_cast<std::size_t>(i)] = static_cast<float>(-60.0 + 120.0 * static_cast<double>(i) / static_cast<double>(n));
    gs[static_cast<std::size_t>(i)] = static_cast<float>(1.0 + 0.001 * static_cast<double>(i % 97));
  }
  nn::fast_silu<B> layer;
  auto ctx = context<B>::train();
  const auto x = tensor<B>::from(xs, {1, 1, 1, n});
  const auto y = layer.forward(ctx, x);
  const auto dx = layer.backward(ctx, tensor<B>::from(gs, {1, 1, 1, n}));
  double worst_y = 0, worst_dx = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double v = xs[static_cast<std::size_t>(i)], s = 1.0 / (1.0 + std::exp(-v));
    const double want_y = v * s, want_dx = gs[static_cast<std::size_t>(i)] * s * (1.0 + v * (1.0 - s));
    // Relative to the value; the derivative crosses zero (at x = -1.28), so its error is relative to dy there.
    worst_y = std::max(worst_y, std::abs(y.data()[i] - want_y) / std::max(std::abs(want_y), 1e-30));
    worst_dx = std::max(worst_dx, std::abs(dx.data()[i] - want_dx) /
                                      std::max(std::abs(want_dx), static_cast<double>(gs[static_cast<std::size_t>(i)])));
  }
  CHECK(worst_y < 1e-6);
  CHECK(worst_dx < 4e-6);  // s (1 + x (1 - s)) loses a few ulp to 1 - s as x grows
  auto far = context<B>::eval();
  const auto big = layer.forward(far, tensor<B>::from(std::vector<float>{-1000.0f, -100.0f, 100.0f, 1000.0f}, {1, 1, 1, 4}));
  CHECK(big.data()[0] <= 0.0f);
  CHECK(big.data()[0] > -1e-30f);
  CHECK(big.data()[1] > -1e-30f);
  CHECK(big.data()[2] == 100.0f);
  CHECK(big.data()[3] == 1000.0f);
}
