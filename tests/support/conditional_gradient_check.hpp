// tests/support/conditional_gradient_check.hpp: finite-difference checks, in double precision, of networks
// with more than one input: embedding blocks (x and an embedding, models/denoiser.hpp) and conditional
// denoisers (x_t, timesteps and labels). The plain-layer checker is gradient_check.hpp.
#pragma once

#include "support/gradient_check.hpp"

#include <fergen/models/denoiser.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace fergen::testing {

// Compares analytic derivatives of loss() with respect to `count` values with central differences, perturbing
// the values in place (spread evenly when there are more than max_checks). Returns the worst relative error.
inline double compare_with_differences(const std::string& what, double* values, const double* analytic,
                                       std::int64_t count, const std::function<double()>& loss,
                                       const gradient_check_options& options) {
  const std::int64_t checks = std::min(count, options.max_checks);
  double worst = 0;
  for (std::int64_t j = 0; j < checks; ++j) {
    const std::int64_t i = checks == count ? j : j * count / checks;
    const double saved = values[i];
    values[i] = saved + options.step;
    const double up = loss();
    values[i] = saved - options.step;
    const double down = loss();
    values[i] = saved;
    const double numeric = (up - down) / (2 * options.step);
    const double error = std::abs(analytic[i] - numeric) / std::max({1.0, std::abs(analytic[i]), std::abs(numeric)});
    worst = std::max(worst, error);
    if (error > options.tolerance) {
      INFO(what, "[", i, "]: analytic ", analytic[i], ", numeric ", numeric);
      CHECK(error <= options.tolerance);
      return worst;
    }
  }
  MESSAGE(what << ": " << checks << " of " << count << " elements, worst relative error " << worst);
  return worst;
}

namespace detail {
inline context<cpu64> check_context(const gradient_check_options& options, bool record) {
  context<cpu64> ctx = context<cpu64>::train(options.seed);
  ctx.training = options.training;
  ctx.record = record;
  return ctx;
}

inline double dot(const tensor64& a, const tensor64& b) {
  double sum = 0;
  for (std::int64_t i = 0; i < a.size(); ++i) sum += a.data()[i] * b.data()[i];
  return sum;
}

template <class Net>
void check_parameters(Net& net, const std::function<double()>& loss, const gradient_check_options& options) {
  net.visit_parameters([&](std::string_view name, auto& p) {
    if constexpr (requires { p.grad; }) {
      if (p.frozen) return;
      compare_with_differences(std::string(name), p.value.data(), p.grad.data(), p.value.size(), loss, options);
    }
  });
}

template <class Net>
void zero_gradients(Net& net) {
  net.visit_parameters([](std::string_view, auto& p) {
    if constexpr (requires { p.grad; }) p.grad.fill(0.0);
  });
}
}  // namespace detail

// Checks d<r, block(x, emb)>/dx, /demb and /dparam of an embedding block against central differences.
template <class Block>
  requires models::embedding_block<Block>
void check_embedding_block_gradients(Block& block, shape input_shape, std::int64_t embed_dim,
                                     gradient_check_options options = {}) {
  static_assert(std::is_same_v<typename Block::backend, cpu64>, "gradient checks run in double precision");
  tensor64 x = random_tensor(input_shape, options.seed * 7 + 3);
  tensor64 emb = random_tensor({input_shape.n, embed_dim, 1, 1}, options.seed * 13 + 1);
  auto ctx = detail::check_context(options, true);
  const tensor64 y = block.forward(ctx, x, emb);
  REQUIRE(y.shape() == block.output_shape(input_shape));
  const tensor64 r = random_tensor(y.shape(), options.seed * 11 + 5);
  detail::zero_gradients(block);
  const models::embedded_gradients<cpu64> g = block.backward(ctx, r);
  REQUIRE(g.dx.shape() == input_shape);
  REQUIRE(g.demb.shape() == emb.shape());
  const std::function<double()> loss = [&] {
    auto c = detail::check_context(options, false);
    return detail::dot(block.forward(c, x, emb), r);
  };
  compare_with_differences("input", x.data(), g.dx.data(), x.size(), loss, options);
  compare_with_differences("embedding", emb.data(), g.demb.data(), emb.size(), loss, options);
  detail::check_parameters(block, loss, options);
}

// Checks d<r, model(x_t, t, y)>/dx_t and /dparam of a conditional denoiser against central differences.
// Timesteps and labels are inputs without gradients; the embedding tables they index are parameters.
template <class Model>
  requires models::conditional_denoiser<Model>
void check_denoiser_gradients(Model& model, shape input_shape, std::span<const double> timesteps,
                              std::span<const std::int64_t> labels, gradient_check_options options = {}) {
  static_assert(std::is_same_v<typename Model::backend, cpu64>, "gradient checks run in double precision");
  tensor64 x = random_tensor(input_shape, options.seed * 7 + 3);
  auto ctx = detail::check_context(options, true);
  const tensor64 y = model.forward(ctx, x, timesteps, labels);
  REQUIRE(y.shape() == model.output_shape(input_shape));
  const tensor64 r = random_tensor(y.shape(), options.seed * 11 + 5);
  detail::zero_gradients(model);
  const tensor64 dx = model.backward(ctx, r);
  REQUIRE(dx.shape() == input_shape);
  const std::function<double()> loss = [&] {
    auto c = detail::check_context(options, false);
    return detail::dot(model.forward(c, x, timesteps, labels), r);
  };
  compare_with_differences("input", x.data(), dx.data(), x.size(), loss, options);
  detail::check_parameters(model, loss, options);
}

}  // namespace fergen::testing
