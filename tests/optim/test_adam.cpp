// Tests of optim/adam.hpp (Adam and AdamW) and the Adam kernel of backend/cpu/optimizer_steps.hpp.
#include <fergen/optim/adam.hpp>

#include "optim/optim_test_support.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

using namespace fergen;

namespace {

optim::adam_options options_from(const npz_archive& ref) {
  const auto kind = testing::values_of<std::int64_t>(ref, "kind")[0];
  const auto h = testing::values_of<double>(ref, "hyper");
  REQUIRE(h.size() == 5);
  return {.lr = h[0], .beta1 = h[1], .beta2 = h[2], .eps = h[3], .weight_decay = h[4],
          .decoupled_weight_decay = kind == 2};
}

template <class T>
void compare_with_pytorch(const std::string& tag, double tolerance) {
  int cases = 0;
  for (const std::string& name : testing::reference_cases("optim_reference")) {
    const npz_archive ref = testing::load_reference("optim_reference", name);
    if (testing::values_of<std::int64_t>(ref, "kind")[0] == 0) continue;
    CAPTURE(name);
    optim::adam<cpu<T>> opt(options_from(ref));
    testing::check_trajectory<T>(opt, ref, tag, tolerance);
    ++cases;
  }
  CHECK(cases == 6);
}

using B = cpu<double>;

}  // namespace

TEST_CASE("adam and adamw trajectories equal torch.optim.Adam and AdamW in float64") {
  compare_with_pytorch<double>("64", 1e-12);
}

TEST_CASE("adam and adamw trajectories equal torch.optim.Adam and AdamW in float32") {
  compare_with_pytorch<float>("32", 1e-6);
}

TEST_CASE("adam keeps a step count per parameter, as torch does") {
  // Matches the "adam_partway" reference: conv.bias sits out steps 2 and 3, fc.weight every step.
  const auto pr = testing::load_problem<double>();
  auto net = testing::network_from(pr);
  auto ctx = context<B>::train();
  optim::adam<B> opt({.lr = 1e-2});
  for (std::size_t k = 0; k < pr.steps(); ++k) {
    testing::set_gradients(net, pr, k);
    net.conv_bias.frozen = k == 2 || k == 3;
    net.fc_weight.frozen = true;
    opt.step(ctx, net);
  }
  const auto saved = testing::saved_state<double>::save(opt);
  CHECK(saved.counts.at("conv.weight.step") == 6);
  CHECK(saved.counts.at("conv.bias.step") == 4);
  CHECK(saved.counts.at("steps") == 6);
  CHECK_FALSE(opt.has_state("fc.weight"));
  CHECK(testing::values_copy(net.fc_weight.value) == pr.initial[2]);
  CHECK(saved.names() == std::vector<std::string>{"conv.bias.exp_avg", "conv.bias.exp_avg_sq", "conv.bias.step",
                                                  "conv.weight.exp_avg", "conv.weight.exp_avg_sq", "conv.weight.step",
                                                  "steps"});
}

TEST_CASE("adamw resumes exactly from state saved through visit_state") {
  const auto pr = testing::load_problem<double>();
  auto ctx = context<B>::train();
  const optim::adam_options o{.lr = 1e-2, .weight_decay = 0.1};
  auto run = [&](auto& net, auto& opt, std::size_t from, std::size_t to) {
    for (std::size_t k = from; k < to; ++k) {
      testing::set_gradients(net, pr, k);
      net.fc_weight.frozen = k == 1;
      opt.step(ctx, net);
    }
  };
  auto whole = testing::network_from(pr);
  auto uninterrupted = optim::adamw<B>(o);
  run(whole, uninterrupted, 0, pr.steps());

  auto net = testing::network_from(pr);
  auto first = optim::adamw<B>(o);
  run(net, first, 0, 3);
  const auto saved = testing::saved_state<double>::save(first);
  CHECK(saved.counts.at("fc.weight.step") == 2);

  auto resumed = optim::adamw<B>(o);
  resumed.create_state(net);
  saved.restore(resumed);
  run(net, resumed, 3, pr.steps());
  for (std::size_t i = 0; i < testing::toy_parameters; ++i)
    CHECK(testing::values_copy(net.param(i).value) == testing::values_copy(whole.param(i).value));
  const auto a = testing::saved_state<double>::save(resumed), b = testing::saved_state<double>::save(uninterrupted);
  CHECK(a.tensors == b.tensors);
  CHECK(a.counts == b.counts);
}

TEST_CASE("adamw only sets decoupled weight decay") {
  auto opt = optim::adamw<B>({.lr = 2e-3, .weight_decay = 0.05});
  CHECK(opt.options().decoupled_weight_decay);
  CHECK(opt.options().weight_decay == 0.05);
  CHECK(opt.options().lr == 2e-3);
  CHECK(optim::adamw<B>({}).options().weight_decay == 0);  // torch.optim.AdamW would default to 1e-2
  CHECK_FALSE(optim::adam<B>(optim::adam_options{}).options().decoupled_weight_decay);
}

TEST_CASE("adam's first step moves every element by about lr, whatever the gradient's scale") {
  // With bias correction, step 1 gives param -= lr * g / (|g| + eps): a sign step.
  auto net = testing::toy_network<B>{};
  net.conv_weight.frozen = net.conv_bias.frozen = true;  // zero gradients would give 0 / 0 with eps = 0
  for (std::int64_t j = 0; j < net.fc_weight.grad.size(); ++j)
    net.fc_weight.grad.data()[j] = (j % 2 ? -1.0 : 1.0) * std::pow(10.0, static_cast<double>(j % 5) - 2);
  auto ctx = context<B>::train();
  optim::adam<B> opt({.lr = 1e-3, .eps = 0});
  opt.step(ctx, net);
  for (std::int64_t j = 0; j < net.fc_weight.value.size(); ++j)
    CHECK(net.fc_weight.value.data()[j] == doctest::Approx(j % 2 ? 1e-3 : -1e-3).epsilon(1e-12));
}

TEST_CASE("adam rejects a parameter whose shape changed, before changing anything") {
  const auto pr = testing::load_problem<double>();
  auto net = testing::network_from(pr);
  auto ctx = context<B>::train();
  auto opt = optim::adamw<B>({});
  testing::set_gradients(net, pr, 0);
  opt.step(ctx, net);
  const auto weight_before = testing::values_copy(net.conv_weight.value);
  net.conv_bias = nn::parameter<B>(nn::dims{5}, nn::init_rule::constant(0));
  CHECK_THROWS_WITH_AS(opt.step(ctx, net),
                       doctest::Contains("adamw: parameter 'conv.bias' changed shape from [4, 1, 1, 1] to [5, 1, 1, 1]"),
                       error);
  CHECK(testing::values_copy(net.conv_weight.value) == weight_before);
}

TEST_CASE("adam rejects invalid options, naming the option") {
  using O = optim::adam_options;
  auto rejects = [](O o, const char* text) {
    CAPTURE(text);
    CHECK_THROWS_WITH_AS(optim::adam<B>{o}, doctest::Contains(text), error);
  };
  rejects({.lr = -1e-3}, "adam: option lr = -0.001");
  rejects({.beta1 = 1.0}, "option beta1 = 1 must be in [0, 1)");
  rejects({.beta1 = -0.1}, "option beta1 = -0.1");
  rejects({.beta2 = 1.5}, "option beta2 = 1.5");
  rejects({.beta2 = std::nan("")}, "option beta2 = nan");
  rejects({.eps = -1e-8}, "option eps = -1e-08");
  rejects({.weight_decay = -0.01}, "option weight_decay = -0.01");
  CHECK_THROWS_WITH_AS(optim::adamw<B>({.lr = -1}), doctest::Contains("adamw: option lr = -1"), error);
  optim::adam<B> opt{O{}};
  CHECK_THROWS_WITH_AS(opt.set_lr(std::nan("")), doctest::Contains("adam: lr = nan"), error);
}
