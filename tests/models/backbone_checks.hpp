// tests/models/backbone_checks.hpp: the checks every backbone passes, shared by the per-family test files.
#pragma once

#include <fergen/models/classifier.hpp>
#include <fergen/models/imagenet.hpp>
#include <fergen/models/pretrained.hpp>
#include <fergen/nn/freeze.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/losses.hpp>
#include <fergen/nn/parameters.hpp>
#include <fergen/nn/state_dict.hpp>
#include <fergen/optim/sgd.hpp>

#include "support/errors.hpp"
#include "support/gradient_check.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace fergen::testing {

// The acceptance measure: max |ours - torchvision's| <= 1e-3 x max |torchvision's|.
inline constexpr double backbone_tolerance = 1e-3;

// A reference weight file, read once per test program (VGG-16's is 528 MiB) and loaded from memory.
template <class Net>
models::backbone_load_report load_reference_weights(Net& net, const std::string& model,
                                                    const models::backbone_load_options& options = {}) {
  static std::map<std::string, npz_archive> cache;
  const auto file = reference_dir("backbones_reference") / (model + ".npz");
  auto it = cache.find(model);
  if (it == cache.end()) it = cache.emplace(model, read_npz(file)).first;
  return models::load_backbone_state(net, it->second, file.string(), options);
}

// BatchNorm's weights, biases and running statistics set to values away from their initial ones, so that
// evaluation mode does not reduce to the identity (as the reference script does for torchvision's).
template <class Net>
void randomize_batchnorm(Net& net, std::uint64_t seed) {
  using T = typename Net::backend::value_type;
  std::set<std::string, std::less<>> norms;  // the layers with running statistics
  nn::for_each_buffer(net, [&](std::string_view name, auto&) {
    if (name.ends_with(".running_mean")) norms.emplace(name.substr(0, name.size() - 13));
  });
  std::uint64_t k = 0;
  net.visit_parameters([&](std::string_view name, auto& item) {
    const auto dot = name.rfind('.');
    if (dot == std::string_view::npos || !norms.contains(name.substr(0, dot)) || name.ends_with("num_batches_tracked"))
      return;
    const random_stream s = generator(seed + 7919 * ++k).take();
    std::vector<T> v(static_cast<std::size_t>(item.value.size()));
    const bool positive = name.ends_with("running_var") || name.ends_with(".weight");
    for (std::size_t i = 0; i < v.size(); ++i) {
      const double u = static_cast<double>(s.uniform(i));
      v[i] = static_cast<T>(positive ? 0.5 + u : 0.2 * (u - 0.5));
    }
    item.value.copy_from(v);
  });
}

// Compares a parameter's gradient with torchvision's (the first values only, when the reference kept only
// the first rows of a large one).
template <class Net>
void check_gradient_of(Net& net, const npy_array& ref, const std::string& name, double tolerance) {
  using T = typename Net::backend::value_type;
  CAPTURE(name);
  auto& p = nn::find_parameter(net, name);
  const auto n = static_cast<std::int64_t>(ref.count());
  REQUIRE(n <= p.grad.size());
  const auto first = tensor<cpu<T>>::from(std::span<const T>(p.grad.data(), static_cast<std::size_t>(n)), {n, 1, 1, 1});
  const double error = max_relative_difference(first, ref);
  MESSAGE(name << ": max |diff| / max |grad| = " << error);
  CHECK(error <= tolerance);
}

template <class Net>
void check_buffer_of(Net& net, const npy_array& ref, const std::string& name, double tolerance) {
  CAPTURE(name);
  bool found = false;
  nn::for_each_buffer(net, [&](std::string_view n, auto& b) {
    if (n != name) return;
    found = true;
    CHECK(max_relative_difference(b.value, ref) <= tolerance);
  });
  CHECK(found);
}

// The torchvision parity of one full-size backbone in float32: eval and train logits for an RGB input, and
// the 1-channel path's logits for a gray image against torchvision's for that image replicated and
// normalised. make(in_channels) builds the network (1000 classes). With direct_tolerance > 0 the gray
// network is also held to the RGB network's own logits for the normalised image (only where float32 keeps
// enough digits: not through many training-mode BatchNorms). float32_gradients: names whose gradients the
// reference has in float32 (see the fixture script), checked on the RGB network (one 528 MiB VGG less).
template <class Make>
void check_torchvision_parity(const std::string& model, Make&& make, double direct_tolerance = 0,
                              const std::vector<std::string>& float32_gradients = {}) {
  using Net = decltype(make(3));
  using B = typename Net::backend;
  const auto io = load_reference("backbones_reference", model + "_io");
  std::vector<tensor<B>> own;  // the RGB network's logits for the normalised gray image, eval and train
  for (const std::int64_t in : {3, 1}) {
    CAPTURE(in);
    Net net = make(in);
    const auto report = load_reference_weights(net, model);
    CHECK(report.initialised.empty());
    const std::string kind = in == 3 ? "rgb" : "gray";
    const tensor<B> x = to_tensor<float>(member(io, in == 3 ? "x_rgb" : "gray"));
    const tensor<B> gray = to_tensor<float>(member(io, "gray"));
    auto eval = context<B>::eval();
    auto train = context<B>::train(1);
    train.record = false;
    const double eval_error = max_relative_difference(net.forward(eval, x), member(io, "eval_" + kind));
    const double train_error = max_relative_difference(net.forward(train, x), member(io, "train_" + kind));
    MESSAGE(model << " " << kind << ": max |diff| / max |logit| = " << eval_error << " (eval), " << train_error
                  << " (train)");
    CHECK(eval_error <= backbone_tolerance);
    CHECK(train_error <= backbone_tolerance);
    if (in == 3 && !float32_gradients.empty()) {
      auto pass = context<B>::train(1);
      nn::zero_grad(net);
      CHECK(max_relative_difference(net.forward(pass, x), member(io, "train_logits")) <= backbone_tolerance);
      net.backward(pass, to_tensor<float>(member(io, "r")));
      for (const auto& g : float32_gradients) check_gradient_of(net, member(io, "grad." + g), g, 1e-4);
    }
    if (direct_tolerance <= 0) continue;
    if (in == 3) {
      own.push_back(net.forward(eval, models::imagenet::normalize(eval, gray)));
      own.push_back(net.forward(train, models::imagenet::normalize(train, gray)));
    } else {
      for (std::size_t mode = 0; mode < 2; ++mode) {
        auto& ctx = mode == 0 ? eval : train;
        const tensor<B> y = net.forward(ctx, gray);
        double diff = 0, scale = 1e-30;
        for (std::int64_t i = 0; i < y.size(); ++i) {
          diff = std::max(diff, std::abs(static_cast<double>(y.data()[i] - own[mode].data()[i])));
          scale = std::max(scale, std::abs(static_cast<double>(own[mode].data()[i])));
        }
        MESSAGE(model << " gray path against the RGB network (" << std::string(mode == 0 ? "eval" : "train")
                      << "): max |diff| / max |logit| = " << diff / scale);
        CHECK(diff / scale <= direct_tolerance);
      }
    }
  }
}

// A training pass on x_rgb with the loss sum(logits * r): logits, gradients and running statistics against
// torchvision's, in the precision the reference used (tag "" float32, "64" float64; see the fixture script).
template <class Make>
void check_torchvision_training(const std::string& model, Make&& make, const std::string& tag,
                                const std::vector<std::string>& gradients, const std::vector<std::string>& buffers,
                                double tolerance) {
  using Net = decltype(make(3));
  using B = typename Net::backend;
  using T = typename B::value_type;
  const auto io = load_reference("backbones_reference", model + "_io");
  Net net = make(3);
  load_reference_weights(net, model);
  auto train = context<B>::train(1);
  nn::zero_grad(net);
  const tensor<B> y = net.forward(train, to_tensor<T>(member(io, "x_rgb")));
  CHECK(max_relative_difference(y, member(io, "train" + tag + "_logits")) <= tolerance);
  net.backward(train, to_tensor<T>(member(io, "r")));
  for (const auto& g : gradients) check_gradient_of(net, member(io, "grad" + tag + "." + g), g, tolerance);
  for (const auto& b : buffers) check_buffer_of(net, member(io, "running" + tag + "." + b), b, tolerance);
}

// The gray path gives the 3-channel network's logits for the replicated, normalised image, in both modes,
// with the same weights (copied through the state dict: the 1-channel network holds the RGB weights).
template <class Make>
void check_gray_path(Make&& make, shape gray_shape, std::uint64_t seed, double tolerance = 1e-5) {
  using Net = decltype(make(3));
  using B = typename Net::backend;
  using T = typename B::value_type;
  Net rgb = make(3);
  nn::initialize(rgb, seed);
  randomize_batchnorm(rgb, seed);
  Net gray = make(1);
  nn::load_state_dict(gray, nn::state_dict(rgb), "rgb network");
  tensor<B> g = random_tensor<T>(gray_shape, seed + 1);
  for (auto& v : g.values()) v = static_cast<T>(0.5 + 0.25 * std::tanh(v));  // on [0, 1]
  for (const bool training : {false, true}) {
    CAPTURE(training);
    auto c1 = context<B>::train(3), c2 = context<B>::train(3);
    c1.training = c2.training = training;
    const tensor<B> x = models::imagenet::normalize(c1, g);
    REQUIRE(x.shape().c == 3);
    const tensor<B> expected = rgb.forward(c1, x);
    const tensor<B> got = gray.forward(c2, g);
    REQUIRE(got.shape() == expected.shape());
    double diff = 0, scale = 1e-30;
    for (std::int64_t i = 0; i < got.size(); ++i) {
      diff = std::max(diff, std::abs(static_cast<double>(got.data()[i]) - static_cast<double>(expected.data()[i])));
      scale = std::max(scale, std::abs(static_cast<double>(expected.data()[i])));
    }
    MESSAGE("gray path: max |diff| / max |logit| = " << diff / scale);
    CHECK(diff / scale <= tolerance);
  }
}

// Loading weights with a missing, an unexpected or a mis-shaped key fails, names the key, and loads nothing.
template <class Net>
void check_bad_weights(Net& net, const std::string& some_key) {
  nn::initialize(net, 3);
  const npz_archive good = nn::state_dict(net);
  const npz_archive before = good;
  REQUIRE(good.contains(some_key));
  {
    npz_archive a = good;
    a.erase(some_key);
    const std::string e = error_of([&] { models::load_backbone_state(net, a, "weights.npz"); });
    CHECK(contains(e, "weights.npz: the weights do not fit"));
    CHECK(contains(e, "missing from the file:\n  " + some_key));
  }
  {
    npz_archive a = good;
    a.emplace("extra.weight", make_npy<float>(std::vector<float>{1, 2}, {2}));
    const std::string e = error_of([&] { models::load_backbone_state(net, a, "weights.npz"); });
    CHECK(contains(e, "unexpected in the file:\n  extra.weight (2,)"));
  }
  {
    npz_archive a = good;
    a[some_key] = make_npy<float>(std::vector<float>{1, 2, 3}, {3});
    const std::string e = error_of([&] { models::load_backbone_state(net, a, "weights.npz"); });
    CHECK(contains(e, "mismatched:\n  " + some_key + ": file has (3,), the network"));
  }
  // Nothing was loaded by the failed attempts.
  const npz_archive after = nn::state_dict(net);
  CHECK(after.at(some_key).bytes == before.at(some_key).bytes);
}

// Freezing the first 30% of the learnable layers: those parameters keep their values through optimiser
// steps, every other parameter changes. Returns the number of learnable layers.
template <class Net>
std::int64_t check_freezing(Net& net, shape input, std::int64_t expected_layers, std::int64_t expected_frozen) {
  using B = typename Net::backend;
  nn::initialize(net, 5);
  const auto layers = nn::learnable_layers(net);
  CHECK(static_cast<std::int64_t>(layers.size()) == expected_layers);
  CHECK(nn::freeze_first_fraction(net, 0.3) == expected_frozen);
  const npz_archive before = nn::state_dict(net);
  optim::sgd<B> opt({.lr = 0.1, .momentum = 0.9});
  const tensor<B> x = random_tensor<typename B::value_type>(input, 9);
  std::vector<std::int64_t> labels(static_cast<std::size_t>(input.n));
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int64_t>(i) % net.num_classes();
  for (int step = 0; step < 2; ++step) {
    auto ctx = context<B>::train(static_cast<std::uint64_t>(step));
    nn::zero_grad(net);
    const auto loss = nn::cross_entropy(ctx, net.forward(ctx, x), labels);
    net.backward(ctx, loss.gradient);
    opt.step(ctx, net);
  }
  const npz_archive after = nn::state_dict(net);
  std::int64_t frozen = 0, changed = 0, unchanged_trainable = 0;
  nn::for_each_parameter(net, [&](std::string_view name, auto& p) {
    const bool same = before.at(std::string(name)).bytes == after.at(std::string(name)).bytes;
    if (p.frozen) {
      ++frozen;
      CHECK_MESSAGE(same, name, " is frozen and changed");
    } else if (!same) {
      ++changed;
    } else {
      ++unchanged_trainable;
      MESSAGE(name << " is trainable and did not change");
    }
  });
  CHECK(frozen > 0);
  CHECK(unchanged_trainable == 0);
  return static_cast<std::int64_t>(layers.size());
}

}  // namespace fergen::testing
