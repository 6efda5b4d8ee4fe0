// Tests of nn/losses.hpp and backend/cpu/losses.hpp.
#include <fergen/nn/losses.hpp>

#include "support/gradient_check.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace fergen;

namespace {
template <class T>
void compare_cross_entropy(const std::string& tag, double tolerance) {
  for (const std::string name : {"cross_entropy_smoothing_0", "cross_entropy_smoothing_0.1"}) {
    CAPTURE(name);
    const auto ref = testing::load_reference("layers_reference", name);
    const auto labels = testing::values_of<std::int64_t>(ref, "labels");
    const double smoothing = testing::values_of<double>(ref, "smoothing")[0];
    auto ctx = context<cpu<T>>::train();
    const auto logits = testing::to_tensor<T>(testing::member(ref, "logits"));
    const auto result = nn::cross_entropy(ctx, logits.reshaped({6, 7, 1, 1}), labels, smoothing);
    const double expected = testing::values_of<double>(ref, "loss" + tag)[0];
    CHECK(std::abs(result.value - expected) <= tolerance * std::abs(expected));
    CHECK(testing::max_relative_difference(result.gradient, testing::member(ref, "dlogits" + tag)) <= tolerance);
  }
}

template <class T>
void compare_mse(const std::string& tag, double tolerance) {
  const auto ref = testing::load_reference("layers_reference", "mse");
  auto ctx = context<cpu<T>>::train();
  const auto p = testing::to_tensor<T>(testing::member(ref, "prediction"));
  const auto t = testing::to_tensor<T>(testing::member(ref, "target"));
  const auto plain = nn::mse(ctx, p, t);
  CHECK(std::abs(plain.value - testing::values_of<double>(ref, "loss" + tag)[0]) <= tolerance * plain.value);
  CHECK(testing::max_relative_difference(plain.gradient, testing::member(ref, "dprediction" + tag)) <= tolerance);
  const auto weights = testing::values_of<double>(ref, "weights");
  const auto weighted = nn::mse(ctx, p, t, weights);
  CHECK(std::abs(weighted.value - testing::values_of<double>(ref, "weighted_loss" + tag)[0]) <=
        tolerance * weighted.value);
  CHECK(testing::max_relative_difference(weighted.gradient, testing::member(ref, "weighted_dprediction" + tag)) <=
        tolerance);
}

// d loss / d input by central differences, against the analytic gradient.
template <class F>
void check_loss_gradient(const tensor<cpu<double>>& input, const tensor<cpu<double>>& analytic, F loss) {
  tensor<cpu<double>> probe = input.clone();
  for (std::int64_t i = 0; i < probe.size(); ++i) {
    const double saved = probe.data()[i];
    probe.data()[i] = saved + 1e-6;
    const double up = loss(probe);
    probe.data()[i] = saved - 1e-6;
    const double down = loss(probe);
    probe.data()[i] = saved;
    CHECK(analytic.data()[i] == doctest::Approx((up - down) / 2e-6).epsilon(1e-6));
  }
}
}  // namespace

TEST_CASE("cross-entropy equals torch.nn.functional.cross_entropy, with and without label smoothing") {
  compare_cross_entropy<float>("32", 1e-5);
  compare_cross_entropy<double>("64", 1e-12);
}

TEST_CASE("MSE equals torch.nn.functional.mse_loss; per-sample weights follow their definition") {
  compare_mse<float>("32", 1e-5);
  compare_mse<double>("64", 1e-12);
}

TEST_CASE("loss gradients match finite differences") {
  using B = cpu<double>;
  auto ctx = context<B>::train();
  const auto logits = testing::random_tensor({3, 5, 1, 1}, 4, 2.0);
  const std::vector<std::int64_t> labels{4, 0, 2};
  const auto ce = nn::cross_entropy(ctx, logits, labels, 0.2);
  check_loss_gradient(logits, ce.gradient, [&](const auto& z) { return nn::cross_entropy(ctx, z, labels, 0.2).value; });
  const auto p = testing::random_tensor({2, 2, 3, 3}, 5), t = testing::random_tensor({2, 2, 3, 3}, 6);
  const std::vector<double> w{0.3, 1.7};
  const auto m = nn::mse(ctx, p, t, w);
  check_loss_gradient(p, m.gradient, [&](const auto& q) { return nn::mse(ctx, q, t, w).value; });
}

TEST_CASE("losses reject bad labels and shapes with the values involved") {
  using B = cpu<float>;
  auto ctx = context<B>::train();
  const tensor<B> logits({2, 7, 1, 1});
  const std::vector<std::int64_t> bad_label{0, 7}, too_few{1};
  CHECK_THROWS_WITH_AS(nn::cross_entropy(ctx, logits, bad_label), doctest::Contains("label 7 of sample 1 is outside [0, 7)"),
                       error);
  CHECK_THROWS_WITH_AS(nn::cross_entropy(ctx, logits, too_few), doctest::Contains("1 labels for logits [2, 7, 1, 1]"), error);
  CHECK_THROWS_WITH_AS(nn::mse(ctx, tensor<B>({1, 1, 2, 2}), tensor<B>({1, 1, 2, 3})),
                       doctest::Contains("[1, 1, 2, 2] and target [1, 1, 2, 3]"), error);
}
