// Tests of optim/clip_grad_norm.hpp.
#include <fergen/optim/clip_grad_norm.hpp>

#include "optim/optim_test_support.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace fergen;

namespace {

template <class T>
void compare_with_pytorch(const std::string& tag, double tolerance) {
  const auto pr = testing::load_problem<T>();
  const npz_archive ref = testing::load_reference("optim_reference", "clip");
  const auto max_norms = testing::values_of<double>(ref, "max_norm");
  const auto totals = testing::values_of<double>(ref, "total_" + tag);
  REQUIRE(max_norms.size() == 3);
  for (std::size_t j = 0; j < max_norms.size(); ++j) {
    CAPTURE(max_norms[j]);
    auto net = testing::network_from(pr);
    testing::set_gradients(net, pr, 0);
    auto ctx = context<cpu<T>>::train();
    const double total = optim::clip_grad_norm(ctx, net, max_norms[j]);
    CHECK(std::abs(total - totals[j]) <= tolerance * totals[j]);
    for (std::size_t i = 0; i < testing::toy_parameters; ++i) {
      CAPTURE(i);
      const auto expected = testing::values_of<double>(ref, str("g", i, "_", tag, "_", j));
      CHECK(testing::row_relative_difference(net.param(i).grad, expected, 0) <= tolerance);
    }
  }
}

using B = cpu<double>;

}  // namespace

TEST_CASE("clip_grad_norm returns torch's total norm and scales as torch.nn.utils.clip_grad_norm_ in float64") {
  compare_with_pytorch<double>("64", 1e-12);
}

TEST_CASE("clip_grad_norm equals torch in float32") { compare_with_pytorch<float>("32", 1e-6); }

TEST_CASE("clip_grad_norm leaves gradients below the threshold untouched") {
  const auto pr = testing::load_problem<double>();
  auto net = testing::network_from(pr);
  testing::set_gradients(net, pr, 0);
  auto ctx = context<B>::train();
  double expected = 0;
  for (const auto& g : pr.grads[0])
    for (double v : g) expected += v * v;
  expected = std::sqrt(expected);
  CHECK(optim::clip_grad_norm(ctx, net, expected * 2) == doctest::Approx(expected).epsilon(1e-14));
  for (std::size_t i = 0; i < testing::toy_parameters; ++i) CHECK(testing::values_copy(net.param(i).grad) == pr.grads[0][i]);
}

TEST_CASE("clip_grad_norm ignores frozen parameters") {
  const auto pr = testing::load_problem<double>();
  auto net = testing::network_from(pr);
  testing::set_gradients(net, pr, 0);
  net.conv_weight.frozen = true;
  auto ctx = context<B>::train();
  double expected = 0;
  for (std::size_t i = 1; i < testing::toy_parameters; ++i)
    for (double v : pr.grads[0][i]) expected += v * v;
  expected = std::sqrt(expected);
  const double total = optim::clip_grad_norm(ctx, net, 0.5);
  CHECK(total == doctest::Approx(expected).epsilon(1e-14));
  CHECK(testing::values_copy(net.conv_weight.grad) == pr.grads[0][0]);
  const double coef = 0.5 / (expected + 1e-6);
  for (std::size_t j = 0; j < pr.grads[0][2].size(); ++j)
    CHECK(net.fc_weight.grad.data()[j] == doctest::Approx(pr.grads[0][2][j] * coef).epsilon(1e-14));
  double clipped = 0;
  for (std::size_t i = 1; i < testing::toy_parameters; ++i)
    for (double v : net.param(i).grad.values()) clipped += v * v;
  CHECK(std::sqrt(clipped) == doctest::Approx(0.5).epsilon(1e-5));
}

TEST_CASE("clip_grad_norm reports exploded gradients, naming the parameter, and changes nothing") {
  const auto pr = testing::load_problem<double>();
  auto net = testing::network_from(pr);
  testing::set_gradients(net, pr, 0);
  auto ctx = context<B>::train();
  SUBCASE("nan") { net.fc_weight.grad.data()[3] = std::nan(""); }
  SUBCASE("inf") { net.fc_weight.grad.data()[0] = std::numeric_limits<double>::infinity(); }
  CHECK_THROWS_WITH_AS(optim::clip_grad_norm(ctx, net, 1.0),
                       doctest::Contains("first parameter with a non-finite gradient norm is 'fc.weight'"), error);
  for (std::size_t i = 0; i < 2; ++i) CHECK(testing::values_copy(net.param(i).grad) == pr.grads[0][i]);
}

TEST_CASE("clip_grad_norm reports a sum of squares that overflows") {
  auto net = testing::toy_network<B>{};
  // Each parameter's sum of squares (1.69e308) is finite, their total is not.
  net.conv_bias.grad.data()[0] = 1.3e154;
  net.fc_weight.grad.data()[0] = 1.3e154;
  auto ctx = context<B>::train();
  CHECK_THROWS_WITH_AS(optim::clip_grad_norm(ctx, net, 1.0), doctest::Contains("the total gradient norm overflows"),
                       error);
  CHECK(net.conv_bias.grad.data()[0] == 1.3e154);
}

TEST_CASE("clip_grad_norm rejects a max_norm that is not positive") {
  auto net = testing::toy_network<B>{};
  auto ctx = context<B>::train();
  for (const double bad : {0.0, -1.0, std::nan("")}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(optim::clip_grad_norm(ctx, net, bad), doctest::Contains("clip_grad_norm: max_norm = "), error);
  }
}
