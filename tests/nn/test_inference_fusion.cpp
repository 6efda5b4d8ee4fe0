// Tests of nn/inference_fusion.hpp: which runs of layers nn::sequential fuses, that an inference forward that fuses
// gives the bits of the layer-by-layer forward, that it fuses only where it may, and that a backward after it is
// refused.
#include <fergen/nn/activation.hpp>
#include <fergen/nn/batch_norm2d.hpp>
#include <fergen/nn/conv2d.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/input_conv2d.hpp>
#include <fergen/nn/max_pool2d.hpp>
#include <fergen/nn/named.hpp>
#include <fergen/nn/parameters.hpp>
#include <fergen/nn/sequential.hpp>

#include "support/gradient_check.hpp"

#include <doctest/doctest.h>

#include <cstdint>

using namespace fergen;
using nn::named;

namespace {

using F = cpu<float>;
using conv = nn::conv2d<F>;
using norm = nn::batch_norm2d<F>;
using relu = nn::relu<F>;
using pool = nn::max_pool2d<F>;

static_assert(nn::fused_run<0, conv, norm, relu>::length == 3);
static_assert(nn::fused_run<0, named<"conv1", conv>, named<"bn1", norm>, relu>::length == 3);
static_assert(nn::fused_run<0, nn::input_conv2d<F>, norm, relu>::length == 3);
static_assert(nn::fused_run<0, conv, norm>::length == 2 && nn::fused_run<0, conv, norm>::normalizes &&
              !nn::fused_run<0, conv, norm>::clamps);
static_assert(nn::fused_run<0, conv, relu, pool>::length == 2 && nn::fused_run<0, conv, relu>::clamps &&
              !nn::fused_run<0, conv, relu>::normalizes);
static_assert(nn::fused_run<0, conv, pool, relu>::length == 0);  // only what directly follows
static_assert(nn::fused_run<0, norm, relu>::length == 0 && nn::fused_run<0, relu>::length == 0);
static_assert(nn::fused_run<0, conv>::length == 0);
static_assert(nn::fused_run<1, relu, conv, norm>::length == 2);
static_assert(nn::fused_run<0, conv, nn::silu<F>>::length == 0);

// A stem, a conv-BN pair and a conv-ReLU pair, with a pooling between (VGG's, ResNet's and Inception's runs).
using net_type = nn::sequential<named<"conv1", nn::input_conv2d<F>>, named<"bn1", norm>, relu, pool,
                                named<"conv2", conv>, named<"bn2", norm>, named<"conv3", conv>, relu>;

net_type make_net(bool running_stats = true) {
  const nn::batch_norm_options o{.track_running_stats = running_stats};
  return net_type(nn::input_conv2d<F>(3, 8, {.kernel = 7, .stride = 2, .padding = 3, .bias = false}), norm(8, o),
                  relu{}, pool({.kernel = 3, .stride = 2, .padding = 1}),
                  conv(8, 16, {.kernel = 1, .bias = false}), norm(16, o), conv(16, 12, {.kernel = 3, .padding = 1}),
                  relu{});
}

// Running statistics and affine parameters away from their initial values: a few training steps' worth.
void train_statistics(net_type& net) {
  nn::initialize(net, 3);
  auto ctx = context<F>::train();
  for (int step = 0; step < 3; ++step) net.forward(ctx, testing::random_tensor<float>({4, 3, 20, 20}, 20 + step));
  std::int64_t k = 0;
  nn::for_each_parameter(net, [&](std::string_view name, nn::parameter<F>& p) {
    if (name.find("bn") == std::string_view::npos) return;
    const auto r = testing::random_tensor<float>(p.value.shape(), 30 + k++);
    for (std::int64_t i = 0; i < p.value.size(); ++i) p.value.data()[i] += 0.5f * r.data()[i];
  });
}

std::int64_t differing(const tensor<F>& a, const tensor<F>& b) {
  REQUIRE(a.shape() == b.shape());
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < a.size(); ++i) n += a.data()[i] != b.data()[i];
  return n;
}

}  // namespace

TEST_CASE("an inference forward fuses convolution, BatchNorm and ReLU and gives the layer-by-layer bits") {
  for (const auto kernels : {cpu_kernels::reference, cpu_kernels::onednn_gemm, cpu_kernels::automatic, cpu_kernels::onednn}) {
    CAPTURE(to_string(kernels));
    net_type net = make_net();
    train_statistics(net);
    const auto x = testing::random_tensor<float>({2, 3, 20, 20}, 5);
    auto fused = context<F>::eval();  // record off: fuses
    auto layered = context<F>::eval();
    layered.record = true;  // keeps what backward needs: runs each layer
    fused.resources.kernels = layered.resources.kernels = kernels;
    const tensor<F> got = net.forward(fused, x), want = net.forward(layered, x);
    CHECK(differing(got, want) == 0);
  }
}

TEST_CASE("a forward fuses only in inference without recording, and only with running statistics") {
  // Training, and evaluation that records, run the layers: a backward follows and works.
  net_type net = make_net();
  train_statistics(net);
  const auto x = testing::random_tensor<float>({2, 3, 20, 20}, 6);
  auto eval_recording = context<F>::eval();
  eval_recording.record = true;
  const auto y = net.forward(eval_recording, x);
  CHECK(net.backward(eval_recording, testing::random_tensor<float>(y.shape(), 7)).shape() == x.shape());

  // Without running statistics a BatchNorm normalises with the batch's even in evaluation: no fusion, and the
  // result is the batch-statistics one.
  net_type batch_stats = make_net(false);
  nn::initialize(batch_stats, 3);
  auto eval = context<F>::eval();
  auto train = context<F>::train();
  train.record = false;
  eval.resources.kernels = train.resources.kernels = cpu_kernels::reference;  // one kernel for both passes
  CHECK(differing(batch_stats.forward(eval, x), batch_stats.forward(train, x)) == 0);
}

TEST_CASE("a backward after a fused forward is refused, even when the layers hold an older recorded forward") {
  net_type net = make_net();
  nn::initialize(net, 1);
  const auto x = testing::random_tensor<float>({2, 3, 20, 20}, 8);
  auto train = context<F>::train();
  const auto y = net.forward(train, x);  // recorded: every layer keeps its input
  auto eval = context<F>::eval();
  net.forward(eval, x);  // fused: the BatchNorms and ReLUs it skipped still hold the training forward's
  CHECK_THROWS_WITH_AS(net.backward(train, testing::random_tensor<float>(y.shape(), 9)),
                       doctest::Contains("backward without a recorded forward"), error);
  // A recorded forward makes backward possible again.
  net.forward(train, x);
  CHECK_NOTHROW(net.backward(train, testing::random_tensor<float>(y.shape(), 9)));

  // Refused before any layer's backward runs: a BatchNorm's stale backward would add to its gradients.
  nn::sequential<conv, norm> pair(conv(3, 4, {.kernel = 3, .padding = 1}), norm(4));
  nn::initialize(pair, 2);
  const auto y_pair = pair.forward(train, x);
  pair.forward(eval, x);
  nn::zero_grad(pair);
  CHECK_THROWS_WITH_AS(pair.backward(train, testing::random_tensor<float>(y_pair.shape(), 10)),
                       doctest::Contains("backward without a recorded forward"), error);
  const tensor<F>& bn_grad = *pair.get<1>().weight()->grad_or_null();
  for (std::int64_t i = 0; i < bn_grad.size(); ++i) CHECK(bn_grad.data()[i] == 0.0f);
}

TEST_CASE("a fused forward's shape errors name the layer that would have failed") {
  nn::sequential<named<"conv", conv>, named<"bn", norm>, relu> net(conv(3, 8, {.kernel = 3}), norm(6), relu{});
  nn::initialize(net, 1);
  auto eval = context<F>::eval();
  CHECK_THROWS_WITH_AS(net.forward(eval, testing::random_tensor<float>({1, 3, 8, 8}, 1)),
                       doctest::Contains("bn: batch_norm2d(6): input"), error);
  CHECK_THROWS_WITH_AS(net.forward(eval, testing::random_tensor<float>({1, 4, 8, 8}, 1)),
                       doctest::Contains("conv: conv2d(3->8"), error);
}
