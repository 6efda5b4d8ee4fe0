// Tests of optim/ema.hpp and the EMA kernel of backend/cpu/optimizer_steps.hpp.
#include <fergen/nn/conv2d.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/sequential.hpp>
#include <fergen/optim/ema.hpp>

#include "optim/optim_test_support.hpp"
#include "support/gradient_check.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

using namespace fergen;

namespace {

using B = cpu<double>;

// The network's parameters at update k: random values of a fixed seed, so the average has something to do.
void set_weights(testing::toy_network<B>& net, std::uint64_t k) {
  for (std::size_t i = 0; i < testing::toy_parameters; ++i) {
    auto& p = net.param(i).value;
    const auto r = testing::random_tensor(p.shape(), 100 * k + i);
    p.copy_from(r.values());
  }
  net.running_mean.value.fill(static_cast<double>(k));
}

// Runs `updates` updates and checks the average of every parameter against the formula, computed here
// independently: e_0 = initial weights, e <- d_k e + (1 - d_k) p_k, d_k = min(decay, (1 + k) / (10 + k)).
void check_average(double decay, bool warmup, int updates) {
  testing::toy_network<B> net;
  set_weights(net, 0);
  optim::ema<B> average(net, decay, warmup);
  std::vector<std::vector<double>> expected;
  for (std::size_t i = 0; i < testing::toy_parameters; ++i) expected.push_back(testing::values_copy(net.param(i).value));
  auto ctx = context<B>::train();
  for (int k = 0; k < updates; ++k) {
    const double d = warmup ? std::min(decay, (1.0 + k) / (10.0 + k)) : decay;
    CHECK(average.current_decay() == d);
    set_weights(net, static_cast<std::uint64_t>(k) + 1);
    average.update(ctx, net);
    for (std::size_t i = 0; i < testing::toy_parameters; ++i) {
      const auto p = testing::values_copy(net.param(i).value);
      for (std::size_t j = 0; j < p.size(); ++j) expected[i][j] = d * expected[i][j] + (1 - d) * p[j];
    }
  }
  CHECK(average.updates() == updates);
  for (std::size_t i = 0; i < testing::toy_parameters; ++i) {
    const std::string name = i == 0 ? "conv.weight" : i == 1 ? "conv.bias" : "fc.weight";
    CAPTURE(name);
    const tensor<B>* a = average.average(name);
    REQUIRE(a != nullptr);
    double diff = 0;
    for (std::size_t j = 0; j < expected[i].size(); ++j) diff = std::max(diff, std::abs(a->data()[j] - expected[i][j]));
    CHECK(diff <= 1e-14);
  }
  // Buffers are copied, not averaged.
  CHECK(average.average("norm.running_mean")->data()[0] == static_cast<double>(updates));
}

// The toy network with its buffer turned into a parameter and one parameter more.
struct renamed_network {
  using backend = B;
  testing::toy_network<B> inner;
  nn::parameter<B> extra{nn::dims{2}, nn::init_rule::constant(0)};
  nn::parameter<B> mean{nn::dims{4}, nn::init_rule::constant(0)};
  template <class V>
  void visit_parameters(V&& visit) {
    visit("conv.weight", inner.conv_weight);
    visit("conv.bias", inner.conv_bias);
    visit("fc.weight", inner.fc_weight);
    visit("norm.running_mean", mean);
    visit("extra", extra);
  }
};

}  // namespace

TEST_CASE("ema with warm-up follows min(decay, (1 + k) / (10 + k))") {
  check_average(0.9999, true, 7);
  check_average(0.5, true, 12);  // warm-up reaches 0.5 at k = 8, then stays there
}

TEST_CASE("ema without warm-up uses the decay exactly") {
  check_average(0.9, false, 5);
  check_average(0.0, false, 3);
  check_average(1.0, false, 3);
}

TEST_CASE("ema's decay schedule") {
  testing::toy_network<B> net;
  optim::ema<B> average(net, 0.5);
  auto ctx = context<B>::train();
  std::vector<double> decays;
  for (int k = 0; k < 10; ++k) {
    decays.push_back(average.current_decay());
    average.update(ctx, net);
  }
  CHECK(decays == std::vector<double>{1.0 / 10, 2.0 / 11, 3.0 / 12, 4.0 / 13, 5.0 / 14, 6.0 / 15, 7.0 / 16, 8.0 / 17,
                                      0.5, 0.5});
  CHECK(optim::ema<B>(net, 0.99, false).current_decay() == 0.99);
}

TEST_CASE("ema averages frozen parameters too, which keeps them as they are") {
  testing::toy_network<B> net;
  set_weights(net, 0);
  net.conv_bias.frozen = true;
  const auto bias = testing::values_copy(net.conv_bias.value);
  optim::ema<B> average(net, 0.9, false);
  auto ctx = context<B>::train();
  for (int k = 0; k < 3; ++k) average.update(ctx, net);
  for (std::size_t j = 0; j < bias.size(); ++j) CHECK(average.average("conv.bias")->data()[j] == doctest::Approx(bias[j]));
}

TEST_CASE("ema copy_to loads the averages into another network of the same architecture") {
  using F = cpu<float>;
  using net_type = nn::sequential<nn::conv2d<F>, nn::conv2d<F>>;
  auto make = [] { return net_type{nn::conv2d<F>(2, 3, {.kernel = 3}), nn::conv2d<F>(3, 2, {.kernel = 1})}; };
  net_type net = make();
  nn::initialize(net, 1);
  optim::ema average(net, 0.75, false);  // deduces ema<cpu<float>>
  static_assert(std::is_same_v<decltype(average), optim::ema<F>>);
  auto ctx = context<F>::train();
  const auto w0 = testing::values_copy(net.get<0>().weight().value);
  nn::initialize(net, 2);
  const auto w1 = testing::values_copy(net.get<0>().weight().value);
  average.update(ctx, net);

  net_type sampler = make();
  average.copy_to(sampler);
  const auto copied = testing::values_copy(sampler.get<0>().weight().value);
  for (std::size_t j = 0; j < w0.size(); ++j) CHECK(copied[j] == doctest::Approx(0.75f * w0[j] + 0.25f * w1[j]));
  CHECK(testing::values_copy(net.get<0>().weight().value) == w1);  // the trained network keeps its weights
  CHECK_FALSE(sampler.get<1>().bias()->value.shares_storage_with(*average.average("1.bias")));
}

TEST_CASE("ema copy_to and update list every difference of a mismatched network") {
  using F = cpu<float>;
  nn::sequential<nn::conv2d<F>, nn::conv2d<F>> net{nn::conv2d<F>(2, 3, {.kernel = 3}), nn::conv2d<F>(3, 2, {.kernel = 1})};
  optim::ema average(net, 0.9);
  nn::sequential<nn::conv2d<F>, nn::conv2d<F>> other{nn::conv2d<F>(2, 4, {.kernel = 3}),
                                                     nn::conv2d<F>(4, 2, {.kernel = 1, .bias = false})};
  const std::string expected =
      "ema::copy_to: the network does not match the averaged weights (4 differences):\n"
      "  parameter '0.weight' is [4, 2, 3, 3] in the network but [3, 2, 3, 3] in the average\n"
      "  parameter '0.bias' is [4, 1, 1, 1] in the network but [3, 1, 1, 1] in the average\n"
      "  parameter '1.weight' is [2, 4, 1, 1] in the network but [2, 3, 1, 1] in the average\n"
      "  parameter '1.bias' is missing from the network";
  CHECK_THROWS_WITH_AS(average.copy_to(other), expected.c_str(), error);
  auto ctx = context<F>::train();
  CHECK_THROWS_WITH_AS(average.update(ctx, other), doctest::Contains("ema::update: the network does not match"), error);
  CHECK(average.updates() == 0);

  // A parameter where the average has a buffer, and a name the average lacks.
  testing::toy_network<B> toy;
  optim::ema<B> toy_average(toy, 0.9);
  renamed_network changed;
  CHECK_THROWS_WITH_AS(toy_average.copy_to(changed),
                       doctest::Contains("'norm.running_mean' is a parameter in the network but a buffer in the average\n"
                                         "  parameter 'extra' is not averaged"),
                       error);
}

TEST_CASE("ema visit_state names the averages after the parameters, and resumes exactly") {
  testing::toy_network<B> net;
  set_weights(net, 0);
  auto ctx = context<B>::train();
  optim::ema<B> uninterrupted(net, 0.999);
  CHECK(testing::state_names(uninterrupted) ==
        std::vector<std::string>{"conv.bias", "conv.weight", "fc.weight", "norm.running_mean", "updates"});
  for (std::uint64_t k = 1; k <= 5; ++k) {
    set_weights(net, k);
    uninterrupted.update(ctx, net);
  }

  set_weights(net, 0);
  optim::ema<B> first(net, 0.999);
  for (std::uint64_t k = 1; k <= 2; ++k) {
    set_weights(net, k);
    first.update(ctx, net);
  }
  const auto saved = testing::saved_state<double>::save(first);
  CHECK(saved.counts.at("updates") == 2);
  optim::ema<B> resumed(net, 0.999);  // starts from the current weights, then takes the saved averages
  saved.restore(resumed);
  CHECK(resumed.updates() == 2);
  CHECK(resumed.current_decay() == first.current_decay());
  for (std::uint64_t k = 3; k <= 5; ++k) {
    set_weights(net, k);
    resumed.update(ctx, net);
  }
  const auto a = testing::saved_state<double>::save(resumed), b = testing::saved_state<double>::save(uninterrupted);
  CHECK(a.tensors == b.tensors);
  CHECK(a.counts == b.counts);
}

TEST_CASE("ema rejects a decay outside [0, 1]") {
  testing::toy_network<B> net;
  for (const double bad : {-0.1, 1.5, std::nan("")}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(optim::ema<B>(net, bad), doctest::Contains("ema: decay = "), error);
    CHECK_THROWS_WITH_AS(optim::ema<B>(net, bad), doctest::Contains("is outside [0, 1]"), error);
  }
}
