// Tests of nn/activation.hpp, backend/activations.hpp and backend/cpu/activations.hpp.
#include <fergen/nn/activation.hpp>

#include "support/gradient_check.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

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
