// CUDA tests: the library's unchanged layers, composites, losses and optimisers instantiated for cuda<float>,
// trained side by side with the same network on the CPU.
#include "cuda_support.hpp"
#include "support/errors.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <vector>

using namespace fergen;
using namespace fergen::testing;

namespace {

// Every layer type of the library in one small network: convolution with and without bias, batch and
// group norm, four activations, max/avg/adaptive pooling, upsampling, a residual, a concat, dropout,
// flatten and a linear head.
template <class B>
auto make_net() {
  using block = nn::sequential<nn::conv2d<B>, nn::group_norm<B>, nn::silu<B>>;
  using branches = nn::concat<nn::conv2d<B>, nn::avg_pool2d<B>>;
  return nn::sequential{
      nn::conv2d<B>(3, 16, {.kernel = 3, .padding = 1}),
      nn::batch_norm2d<B>(16),
      nn::relu<B>{},
      nn::max_pool2d<B>({.kernel = 3, .stride = 2, .padding = 1}),
      nn::residual<block>(block(nn::conv2d<B>(16, 16, {.kernel = 3, .padding = 1, .bias = false}),
                                nn::group_norm<B>(4, 16), nn::silu<B>{})),
      branches(nn::conv2d<B>(16, 8, {.kernel = {1, 3}, .padding = {0, 1}}),
               nn::avg_pool2d<B>({.kernel = 3, .stride = 1, .padding = 1, .count_include_pad = false})),
      nn::gelu<B>{},
      nn::upsample_nearest<B>(2),
      nn::adaptive_avg_pool2d<B>({3, 3}),
      nn::tanh<B>{},
      nn::flatten<B>{},
      nn::dropout<B>(0.25),
      nn::linear<B>(24 * 3 * 3, 7),
  };
}

template <class A, class B>
void check_same_weights(A& host_net, B& device_net, const char* when) {
  std::vector<host_tensor> values, grads;
  nn::for_each_parameter(host_net, [&](std::string_view, auto& p) {
    values.push_back(p.value);
    grads.push_back(p.grad);
  });
  std::size_t i = 0;
  nn::for_each_parameter(device_net, [&](std::string_view name, auto& p) {
    INFO(when, ": ", name);
    FERGEN_CHECK_CLOSE(p.value, values[i], "parameter");
    FERGEN_CHECK_CLOSE(p.grad, grads[i], "gradient");
    ++i;
  });
}

}  // namespace

TEST_CASE("cuda: a network of every layer type trains as on the CPU (SGD, Adam, clipping, EMA)") {
  auto host_net = make_net<host>();
  auto device_net = make_net<device>();
  nn::initialize(host_net, 7);
  nn::initialize(device_net, 7);  // the same seed gives the same weights on both backends
  check_same_weights(host_net, device_net, "initialised");

  optim::sgd<host> host_sgd({.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-4, .nesterov = true});
  optim::sgd<device> device_sgd({.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-4, .nesterov = true});
  optim::adam<host> host_adam({.lr = 1e-3, .weight_decay = 1e-2, .decoupled_weight_decay = true});
  optim::adam<device> device_adam({.lr = 1e-3, .weight_decay = 1e-2, .decoupled_weight_decay = true});
  optim::ema host_ema(host_net, 0.9);
  optim::ema device_ema(device_net, 0.9);
  auto hc = context<host>::train(3);
  auto dc = context<device>::train(3);
  std::vector<std::int64_t> labels(8);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int64_t>(i % 7);

  for (std::uint64_t step = 0; step < 4; ++step) {
    INFO("step ", step);
    const host_tensor x = random_host({8, 3, 20, 20}, 100 + step);
    const host_tensor logits = host_net.forward(hc, x);
    const device_tensor dlogits = device_net.forward(dc, to_device(x));
    FERGEN_CHECK_CLOSE(dlogits, logits, "logits");
    const auto hl = nn::cross_entropy(hc, logits, labels, 0.1);
    const auto dl = nn::cross_entropy(dc, dlogits, labels, 0.1);
    CHECK(std::abs(dl.value - hl.value) <= 1e-4 * std::abs(hl.value));
    nn::zero_grad(host_net);
    nn::zero_grad(device_net);
    FERGEN_CHECK_CLOSE(device_net.backward(dc, dl.gradient), host_net.backward(hc, hl.gradient), "input gradient");
    const double host_norm = optim::clip_grad_norm(hc, host_net, 1.0);
    const double device_norm = optim::clip_grad_norm(dc, device_net, 1.0);
    CHECK(std::abs(device_norm - host_norm) <= 1e-4 * host_norm);
    check_same_weights(host_net, device_net, "after backward");
    if (step % 2 == 0) {
      host_sgd.step(hc, host_net);
      device_sgd.step(dc, device_net);
    } else {
      host_adam.step(hc, host_net);
      device_adam.step(dc, device_net);
    }
    host_ema.update(hc, host_net);
    device_ema.update(dc, device_net);
    check_same_weights(host_net, device_net, "after the update");
  }

  // Evaluation mode uses the running statistics the two trainings accumulated.
  auto he = context<host>::eval();
  auto de = context<device>::eval();
  const host_tensor x = random_host({5, 3, 20, 20}, 200);
  FERGEN_CHECK_CLOSE(device_net.forward(de, to_device(x)), host_net.forward(he, x), "evaluation logits");

  // The averaged weights, and a weights file written from the GPU network and read by the CPU one.
  auto host_avg = make_net<host>();
  auto device_avg = make_net<device>();
  host_ema.copy_to(host_avg);
  device_ema.copy_to(device_avg);
  check_same_weights(host_avg, device_avg, "EMA");
  const auto file = std::filesystem::temp_directory_path() / "fergen-cuda-layers.npz";
  nn::save_weights(device_net, file);
  auto reloaded = make_net<host>();
  CHECK(nn::load_weights(reloaded, file).complete());
  std::filesystem::remove(file);
  FERGEN_CHECK_CLOSE(to_device(reloaded.forward(he, x)), host_net.forward(he, x), "reloaded on the CPU");
}

TEST_CASE("cuda: a layer's shape error reads the same on both backends") {
  auto host_net = make_net<host>();
  auto device_net = make_net<device>();
  auto hc = context<host>::train();
  auto dc = context<device>::train();
  CHECK(error_of([&] {
          device_net.forward(dc, device_tensor({1, 4, 20, 20}));
        }) == error_of([&] {
          host_net.forward(hc, host_tensor({1, 4, 20, 20}));
        }));
}
