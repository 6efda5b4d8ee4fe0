// Tests of nn/linear.hpp and backend/cpu/linear.hpp.
#include <fergen/nn/linear.hpp>
#include <fergen/nn/parameters.hpp>

#include "support/gradient_check.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

using namespace fergen;

namespace {
template <class T>
void compare_with_pytorch(const std::string& tag, double tolerance) {
  for (const std::string name : {"linear_resnet_head", "linear_small", "linear_vgg_fc"}) {
    CAPTURE(name);
    const auto ref = testing::load_reference("layers_reference", name);
    const auto& w = testing::member(ref, "w");
    nn::linear<cpu<T>> fc(w.shape[1], w.shape[0]);
    fc.weight().value.copy_from(w.values<T>());
    fc.bias()->value.copy_from(testing::values_of<T>(ref, "b"));
    auto ctx = context<cpu<T>>::train();
    const auto y = fc.forward(ctx, testing::to_tensor<T>(testing::member(ref, "x")));
    CHECK(testing::max_relative_difference(y, testing::member(ref, "y" + tag)) <= tolerance);
    const auto dx = fc.backward(ctx, testing::to_tensor<T>(testing::member(ref, "dy")));
    CHECK(testing::max_relative_difference(dx, testing::member(ref, "dx" + tag)) <= tolerance);
    CHECK(testing::max_relative_difference(fc.weight().grad, testing::member(ref, "dw" + tag)) <= tolerance);
    CHECK(testing::max_relative_difference(fc.bias()->grad, testing::member(ref, "db" + tag)) <= tolerance);
  }
}
}  // namespace

TEST_CASE("linear equals torch.nn.functional.linear, forward and backward") {
  compare_with_pytorch<float>("32", 1e-5);
  compare_with_pytorch<double>("64", 1e-12);
}

TEST_CASE("linear gradients match finite differences") {
  nn::linear<cpu<double>> fc(6, 4);
  testing::randomize_parameters(fc, 2);
  testing::check_gradients(fc, {3, 6, 1, 1});
  nn::linear<cpu<double>> no_bias(5, 3, {.bias = false});
  testing::randomize_parameters(no_bias, 3);
  testing::check_gradients(no_bias, {2, 5, 1, 1});
  CHECK(nn::parameter_names(no_bias) == std::vector<std::string>{"weight"});
}

TEST_CASE("linear rejects feature maps and wrong widths, naming the shapes") {
  using B = cpu<float>;
  nn::linear<B> fc(8, 2);
  auto ctx = context<B>::train();
  CHECK_THROWS_WITH_AS(fc.forward(ctx, tensor<B>({2, 2, 2, 2})), doctest::Contains("[2, 2, 2, 2] is not [N, 8, 1, 1]"),
                       error);
  CHECK_THROWS_WITH_AS(fc.forward(ctx, tensor<B>({2, 7, 1, 1})), doctest::Contains("linear(8->2)"), error);
  CHECK(fc.weight().dims == nn::dims{2, 8});
}
