// tests/support/gradient_check.hpp: finite-difference checks of a layer's backward, in double precision.
#pragma once

#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/core/rng.hpp>
#include <fergen/nn/layer.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace fergen::testing {

using cpu64 = cpu<double>;
using tensor64 = tensor<cpu64>;

// Standard normal values times scale, from a seed.
template <class T = double>
tensor<cpu<T>> random_tensor(shape s, std::uint64_t seed, double scale = 1.0) {
  auto t = tensor<cpu<T>>::uninitialized(s);
  const random_stream stream = generator(seed).take();
  for (std::int64_t i = 0; i < t.size(); ++i)
    t.data()[i] = static_cast<T>(scale * stream.normal(static_cast<std::uint64_t>(i)));
  return t;
}

// Fills every parameter with random values (so that BatchNorm weights are not all one, biases not zero).
template <class Layer>
void randomize_parameters(Layer& layer, std::uint64_t seed, double scale = 0.5) {
  std::uint64_t k = 0;
  layer.visit_parameters([&](std::string_view, auto& p) {
    if constexpr (requires { p.grad; }) {
      const tensor64 r = random_tensor(p.value.shape(), seed + 1000 * ++k, scale);
      std::copy_n(r.data(), r.size(), p.value.data());
    }
  });
}

struct gradient_check_options {
  bool training = true;             // the mode of every forward pass
  double step = 1e-6;               // central difference step
  double tolerance = 1e-6;          // |analytic - numeric| <= tolerance * max(1, |analytic|, |numeric|)
  std::int64_t max_checks = 160;    // elements checked per tensor (evenly spread when there are more)
  std::uint64_t seed = 1;
};

// Checks d<r, layer(x)>/dx and d<r, layer(x)>/dparam against central differences, with x and r random.
// Every forward uses a fresh context with the same seed, so dropout draws the same mask each time.
template <class Layer>
void check_gradients(Layer& layer, shape input_shape, gradient_check_options options = {}) {
  using B = typename Layer::backend;
  static_assert(std::is_same_v<B, cpu64>, "gradient checks run in double precision");
  auto make_context = [&] {
    context<B> ctx = context<B>::train(options.seed);
    ctx.training = options.training;
    return ctx;
  };
  tensor64 x = random_tensor(input_shape, options.seed * 7 + 3);
  auto ctx = make_context();
  const tensor64 y = layer.forward(ctx, x);
  REQUIRE(y.shape() == layer.output_shape(input_shape));
  const tensor64 r = random_tensor(y.shape(), options.seed * 11 + 5);
  layer.visit_parameters([](std::string_view, auto& p) {
    if constexpr (requires { p.grad; }) p.grad.fill(0.0);
  });
  const tensor64 dx = layer.backward(ctx, r);
  REQUIRE(dx.shape() == input_shape);

  auto loss = [&](const tensor64& input) {
    auto c = make_context();
    c.record = false;
    const tensor64 out = layer.forward(c, input);
    double sum = 0;
    for (std::int64_t i = 0; i < out.size(); ++i) sum += out.data()[i] * r.data()[i];
    return sum;
  };
  auto compare = [&](const std::string& what, double* values, const double* analytic, std::int64_t count,
                     const tensor64& input) {
    const std::int64_t checks = std::min(count, options.max_checks);
    double worst = 0;
    for (std::int64_t j = 0; j < checks; ++j) {
      const std::int64_t i = checks == count ? j : j * count / checks;
      const double saved = values[i];
      values[i] = saved + options.step;
      const double up = loss(input);
      values[i] = saved - options.step;
      const double down = loss(input);
      values[i] = saved;
      const double numeric = (up - down) / (2 * options.step);
      const double error = std::abs(analytic[i] - numeric) / std::max({1.0, std::abs(analytic[i]), std::abs(numeric)});
      worst = std::max(worst, error);
      if (error > options.tolerance) {
        INFO(what, "[", i, "]: analytic ", analytic[i], ", numeric ", numeric);
        CHECK(error <= options.tolerance);
        return;
      }
    }
    MESSAGE(what << ": " << checks << " of " << count << " elements, worst relative error " << worst);
  };

  tensor64 probe = x.clone();
  compare("input", probe.data(), dx.data(), probe.size(), probe);
  layer.visit_parameters([&](std::string_view name, auto& p) {
    if constexpr (requires { p.grad; }) {
      if (p.frozen) return;
      const std::string label(name);
      compare(label, p.value.data(), p.grad.data(), p.value.size(), probe);
    }
  });
}

}  // namespace fergen::testing
