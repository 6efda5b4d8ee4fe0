// CUDA tests: VGG-16, ResNet-50 and Inception-V3 (the small presets the study trains from scratch, on the gray
// input path, and torchvision's full size on RGB) built for cuda<float> and cpu<float> from the same seed:
// logits in evaluation and training mode, and training steps (SGD with momentum on cross-entropy), within
// max |diff| <= 1e-3 x max |CPU's|.
#include "network_checks.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace fergen;
using namespace fergen::testing;

namespace {

constexpr std::int64_t classes = 7;

// Runs the two networks side by side: evaluation and training-mode logits at initialisation, `steps` training
// steps (logits, loss, input gradient each step; every parameter and running statistic after), then evaluation
// logits again, now through the running statistics the two trainings accumulated.
template <class HostNet, class DeviceNet>
void check_pair(const std::string& name, HostNet& host_net, DeviceNet& device_net, shape input, int steps) {
  const auto start = std::chrono::steady_clock::now();
  CAPTURE(name);
  nn::initialize(host_net, 11);
  nn::initialize(device_net, 11);  // the same seed, the same weights
  check_same_state(host_net, device_net, (name + ", initialised").c_str(), 0.0);

  const host_tensor x = random_host(input, 1, 0.0f, 1.0f);  // images on [0, 1], as the study feeds them
  const device_tensor dx = to_device(x);
  {
    auto he = context<host>::eval();
    auto de = context<device>::eval();
    FERGEN_CHECK_NETWORK_CLOSE(device_net.forward(de, dx), host_net.forward(he, x), name + " eval logits");
    auto ht = context<host>::train(5);
    auto dt = context<device>::train(5);
    ht.record = dt.record = false;
    FERGEN_CHECK_NETWORK_CLOSE(device_net.forward(dt, dx), host_net.forward(ht, x), name + " train logits");
  }

  optim::sgd<host> host_sgd({.lr = 0.01, .momentum = 0.9, .weight_decay = 1e-4});
  optim::sgd<device> device_sgd({.lr = 0.01, .momentum = 0.9, .weight_decay = 1e-4});
  std::vector<std::int64_t> labels(static_cast<std::size_t>(input.n));
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int64_t>(i % classes);
  for (int step = 0; step < steps; ++step) {
    INFO("step ", step);
    auto hc = context<host>::train(100 + static_cast<std::uint64_t>(step));
    auto dc = context<device>::train(100 + static_cast<std::uint64_t>(step));
    const host_tensor xs = random_host(input, 20 + static_cast<std::uint64_t>(step), 0.0f, 1.0f);
    const host_tensor logits = host_net.forward(hc, xs);
    const device_tensor dlogits = device_net.forward(dc, to_device(xs));
    FERGEN_CHECK_NETWORK_CLOSE(dlogits, logits, name + " training logits, step " + std::to_string(step));
    const auto hl = nn::cross_entropy(hc, logits, labels);
    const auto dl = nn::cross_entropy(dc, dlogits, labels);
    CHECK(std::abs(dl.value - hl.value) <= network_tolerance * std::abs(hl.value));
    nn::zero_grad(host_net);
    nn::zero_grad(device_net);
    FERGEN_CHECK_NETWORK_CLOSE(device_net.backward(dc, dl.gradient), host_net.backward(hc, hl.gradient),
                               name + " input gradient, step " + std::to_string(step));
    host_sgd.step(hc, host_net);
    device_sgd.step(dc, device_net);
  }
  if (steps > 0) check_same_state(host_net, device_net, (name + ", trained").c_str(), network_tolerance);
  auto he = context<host>::eval();
  auto de = context<device>::eval();
  FERGEN_CHECK_NETWORK_CLOSE(device_net.forward(de, dx), host_net.forward(he, x), name + " eval logits after training");
  MESSAGE(name << ": " << seconds_since(start) << " s");
}

}  // namespace

TEST_CASE("cuda networks: the small VGG-16, ResNet-50 and Inception-V3 on gray images train as on the CPU") {
  // The study's input: one gray channel, ImageNet's normalisation folded into the first convolution.
  SUBCASE("vgg16 small") {
    models::vgg_small<host> h(classes, 1);
    models::vgg_small<device> d(classes, 1);
    check_pair("vgg16 small, gray 64x64", h, d, {8, 1, 64, 64}, 3);
  }
  SUBCASE("resnet50 small") {
    models::resnet_small<host> h(classes, 1);
    models::resnet_small<device> d(classes, 1);
    check_pair("resnet50 small, gray 64x64", h, d, {8, 1, 64, 64}, 3);
  }
  SUBCASE("inception_v3 small") {
    models::inception_small<host> h(classes, 1);
    models::inception_small<device> d(classes, 1);
    check_pair("inception_v3 small, gray 80x80", h, d, {8, 1, 80, 80}, 3);
  }
}

TEST_CASE("cuda networks: torchvision-size VGG-16, ResNet-50 and Inception-V3 at 160x160 agree with the CPU") {
  // The study's resolution and torchvision's networks (7 classes), RGB: one batch each way, one training step.
  SUBCASE("vgg16") {
    models::vgg16<host> h(classes, 3);
    models::vgg16<device> d(classes, 3);
    check_pair("vgg16, RGB 160x160", h, d, {2, 3, 160, 160}, 1);
  }
  SUBCASE("resnet50") {
    models::resnet50<host> h(classes, 3);
    models::resnet50<device> d(classes, 3);
    check_pair("resnet50, RGB 160x160", h, d, {4, 3, 160, 160}, 1);
  }
  SUBCASE("inception_v3") {
    models::inception_v3<host> h(classes, 3);
    models::inception_v3<device> d(classes, 3);
    check_pair("inception_v3, RGB 160x160", h, d, {4, 3, 160, 160}, 1);
  }
}
