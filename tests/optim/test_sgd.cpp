// Tests of optim/sgd.hpp and the SGD kernel of backend/cpu/optimizer_steps.hpp.
#include <fergen/nn/conv2d.hpp>
#include <fergen/nn/freeze.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/sequential.hpp>
#include <fergen/optim/sgd.hpp>

#include "optim/optim_test_support.hpp"
#include "support/gradient_check.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace fergen;

namespace {

optim::sgd_options options_from(const npz_archive& ref) {
  const auto h = testing::values_of<double>(ref, "hyper");
  REQUIRE(h.size() == 5);
  return {.lr = h[0], .momentum = h[1], .dampening = h[2], .weight_decay = h[3], .nesterov = h[4] != 0};
}

template <class T>
void compare_with_pytorch(const std::string& tag, double tolerance) {
  int cases = 0;
  for (const std::string& name : testing::reference_cases("optim_reference")) {
    const npz_archive ref = testing::load_reference("optim_reference", name);
    if (testing::values_of<std::int64_t>(ref, "kind")[0] != 0) continue;
    CAPTURE(name);
    optim::sgd<cpu<T>> opt(options_from(ref));
    testing::check_trajectory<T>(opt, ref, tag, tolerance);
    ++cases;
  }
  CHECK(cases == 8);
}

using B = cpu<double>;

optim::sgd_options momentum_options() { return {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 1e-2}; }

}  // namespace

TEST_CASE("sgd trajectories equal torch.optim.SGD in float64 (plain, momentum, nesterov, dampening, weight decay)") {
  compare_with_pytorch<double>("64", 1e-12);
}

TEST_CASE("sgd trajectories equal torch.optim.SGD in float32") { compare_with_pytorch<float>("32", 1e-6); }

TEST_CASE("sgd leaves a frozen parameter unchanged and gives it no state") {
  const auto pr = testing::load_problem<double>();
  auto net = testing::network_from(pr);
  net.conv_bias.frozen = true;
  optim::sgd<B> opt(momentum_options());
  auto ctx = context<B>::train();
  for (std::size_t k = 0; k < pr.steps(); ++k) {
    testing::set_gradients(net, pr, k);
    opt.step(ctx, net);
  }
  CHECK(testing::values_copy(net.conv_bias.value) == pr.initial[1]);
  CHECK(testing::values_copy(net.conv_weight.value) != pr.initial[0]);
  CHECK(testing::values_copy(net.fc_weight.value) != pr.initial[2]);
  CHECK_FALSE(opt.has_state("conv.bias"));
  CHECK(opt.has_state("conv.weight"));
  CHECK(testing::state_names(opt) == std::vector<std::string>{"conv.weight.momentum_buffer", "conv.weight.step",
                                                              "fc.weight.momentum_buffer", "fc.weight.step", "steps"});
}

TEST_CASE("sgd visit_state lists momentum buffers only with momentum, step counts always") {
  const auto pr = testing::load_problem<double>();
  auto net = testing::network_from(pr);
  auto ctx = context<B>::train();
  testing::set_gradients(net, pr, 0);
  SUBCASE("with momentum") {
    optim::sgd<B> opt(momentum_options());
    CHECK(testing::state_names(opt) == std::vector<std::string>{"steps"});
    opt.step(ctx, net);
    CHECK(testing::state_names(opt) ==
          std::vector<std::string>{"conv.bias.momentum_buffer", "conv.bias.step", "conv.weight.momentum_buffer",
                                   "conv.weight.step", "fc.weight.momentum_buffer", "fc.weight.step", "steps"});
  }
  SUBCASE("without momentum") {
    optim::sgd<B> opt({.lr = 0.1});
    opt.step(ctx, net);
    CHECK(testing::state_names(opt) ==
          std::vector<std::string>{"conv.bias.step", "conv.weight.step", "fc.weight.step", "steps"});
  }
}

TEST_CASE("sgd resumes exactly from state saved through visit_state") {
  const auto pr = testing::load_problem<double>();
  auto ctx = context<B>::train();
  // Uninterrupted run; conv.bias sits out the first two steps so a resumed parameter without state is covered.
  auto run = [&](auto& net, auto& opt, std::size_t from, std::size_t to) {
    for (std::size_t k = from; k < to; ++k) {
      testing::set_gradients(net, pr, k);
      net.conv_bias.frozen = k < 2;
      opt.step(ctx, net);
    }
  };
  auto whole = testing::network_from(pr);
  optim::sgd<B> uninterrupted(momentum_options());
  run(whole, uninterrupted, 0, pr.steps());

  for (const std::size_t split : {std::size_t{1}, std::size_t{3}}) {
    CAPTURE(split);
    auto net = testing::network_from(pr);
    optim::sgd<B> first(momentum_options());
    run(net, first, 0, split);
    const auto saved = testing::saved_state<double>::save(first);
    CHECK(saved.counts.at("steps") == static_cast<std::int64_t>(split));

    optim::sgd<B> resumed(momentum_options());
    resumed.create_state(net);
    saved.restore(resumed);
    CHECK(resumed.steps() == static_cast<std::int64_t>(split));
    run(net, resumed, split, pr.steps());
    CHECK(resumed.steps() == uninterrupted.steps());
    for (std::size_t i = 0; i < testing::toy_parameters; ++i)
      CHECK(testing::values_copy(net.param(i).value) == testing::values_copy(whole.param(i).value));
    CHECK(testing::saved_state<double>::save(resumed).tensors == testing::saved_state<double>::save(uninterrupted).tensors);
  }
}

TEST_CASE("sgd set_lr changes the rate of the next step") {
  const auto pr = testing::load_problem<double>();
  auto net = testing::network_from(pr);
  auto ctx = context<B>::train();
  optim::sgd<B> opt({.lr = 0.1});
  opt.set_lr(0.25);
  CHECK(opt.lr() == 0.25);
  testing::set_gradients(net, pr, 0);
  opt.step(ctx, net);
  for (std::size_t j = 0; j < pr.initial[2].size(); ++j)
    CHECK(net.fc_weight.value.data()[j] == pr.initial[2][j] + (-0.25) * pr.grads[0][2][j]);
}

TEST_CASE("sgd trains the parameters of fergen layers, skipping frozen ones") {
  using F = cpu<float>;
  nn::sequential<nn::conv2d<F>, nn::conv2d<F>> net{nn::conv2d<F>(2, 3, {.kernel = 3, .padding = 1}),
                                                   nn::conv2d<F>(3, 2, {.kernel = 1})};
  nn::initialize(net, 4);
  nn::freeze_first_fraction(net, 0.5);
  const auto frozen_before = testing::values_copy(net.get<0>().weight().value);
  const auto trained_before = testing::values_copy(net.get<1>().weight().value);
  optim::sgd<F> opt({.lr = 0.05, .momentum = 0.9, .nesterov = true});
  auto ctx = context<F>::train();
  for (int k = 0; k < 3; ++k) {
    nn::zero_grad(net);
    const auto y = net.forward(ctx, testing::random_tensor<float>({2, 2, 5, 5}, 10 + static_cast<std::uint64_t>(k)));
    net.backward(ctx, testing::random_tensor<float>(y.shape(), 20 + static_cast<std::uint64_t>(k)));
    opt.step(ctx, net);
  }
  CHECK(testing::values_copy(net.get<0>().weight().value) == frozen_before);
  CHECK(testing::values_copy(net.get<1>().weight().value) != trained_before);
  CHECK(testing::state_names(opt) == std::vector<std::string>{"1.bias.momentum_buffer", "1.bias.step",
                                                              "1.weight.momentum_buffer", "1.weight.step", "steps"});
}

TEST_CASE("sgd rejects a parameter whose shape changed, before changing anything") {
  const auto pr = testing::load_problem<double>();
  auto net = testing::network_from(pr);
  auto ctx = context<B>::train();
  optim::sgd<B> opt(momentum_options());
  testing::set_gradients(net, pr, 0);
  opt.step(ctx, net);
  const auto weight_before = testing::values_copy(net.conv_weight.value);
  net.fc_weight = nn::parameter<B>(nn::dims{6, 4}, nn::init_rule::constant(0));
  CHECK_THROWS_WITH_AS(opt.step(ctx, net),
                       doctest::Contains("sgd: parameter 'fc.weight' changed shape from [5, 4, 1, 1] to [6, 4, 1, 1]"),
                       error);
  CHECK(testing::values_copy(net.conv_weight.value) == weight_before);
  CHECK(opt.steps() == 1);
  net.fc_weight = nn::parameter<B>(nn::dims{5, 4}, nn::init_rule::constant(0));
  net.fc_weight.grad = tensor<B>({5, 1, 1, 1});
  CHECK_THROWS_WITH_AS(opt.step(ctx, net), doctest::Contains("'fc.weight' is [5, 4, 1, 1] but its gradient is"), error);
}

TEST_CASE("sgd rejects invalid options, naming the option") {
  using O = optim::sgd_options;
  auto rejects = [](O o, const char* text) {
    CAPTURE(text);
    CHECK_THROWS_WITH_AS(optim::sgd<B>{o}, doctest::Contains(text), error);
  };
  rejects({.lr = -0.1}, "option lr = -0.1");
  rejects({.lr = std::nan("")}, "option lr = nan");
  rejects({.momentum = -0.9}, "option momentum = -0.9");
  rejects({.weight_decay = -1e-4}, "option weight_decay = -0.0001");
  rejects({.nesterov = true}, "option nesterov needs momentum > 0");
  rejects({.momentum = 0.9, .dampening = 0.1, .nesterov = true}, "option nesterov needs momentum > 0 and dampening = 0");
  optim::sgd<B> opt{O{}};
  CHECK_THROWS_WITH_AS(opt.set_lr(-1), doctest::Contains("sgd: lr = -1"), error);
  CHECK(opt.lr() == 0.01);
}
