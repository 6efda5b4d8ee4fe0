// CUDA tests: the device tensor and transfers, and the elementwise ops (arithmetic, activations, dropout,
// losses, optimiser steps) against the CPU backend on the same inputs.
#include "cuda_support.hpp"
#include "support/errors.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

using namespace fergen;
using namespace fergen::testing;

namespace {

context<host> host_ctx() { return context<host>::train(); }
context<device> device_ctx() { return context<device>::train(); }

}  // namespace

TEST_CASE("cuda tensor: zero-filled, full, host transfers, shared copies and independent clones") {
  const shape s{2, 3, 5, 7};
  const device_tensor zeros(s);
  CHECK(zeros.shape() == s);
  CHECK(zeros.size() == s.size());
  CHECK(identical(zeros, host_tensor(s)));
  CHECK(identical(device_tensor::full(s, -2.5f), host_tensor::full(s, -2.5f)));

  const host_tensor values = random_host(s, 7);
  device_tensor t = to_device(values);
  CHECK(identical(t, values));
  std::vector<float> back(static_cast<std::size_t>(s.size()));
  t.copy_to(back);
  CHECK(std::equal(back.begin(), back.end(), values.data()));

  device_tensor shared = t;  // a copy shares storage, as on the CPU
  CHECK(shared.shares_storage_with(t));
  device_tensor clone = t.clone();
  CHECK_FALSE(clone.shares_storage_with(t));
  clone.fill(1.0f);
  CHECK(identical(t, values));
  CHECK(identical(clone, host_tensor::full(s, 1.0f)));
  t.fill(0.0f);
  CHECK(identical(shared, host_tensor(s)));

  const device_tensor original = to_device(values);
  const device_tensor flat = original.reshaped({2, 105, 1, 1});
  CHECK(flat.shape() == shape{2, 105, 1, 1});
  CHECK_FALSE(flat.shares_storage_with(original));
  CHECK(identical(flat, values.reshaped({2, 105, 1, 1})));

  CHECK(identical(to_backend<host>(to_backend<device>(values)), values));
  CHECK(identical(to_backend<host>(values), values));
}

TEST_CASE("cuda tensor: empty tensors, bad shapes and sizes give the CPU's messages") {
  const device_tensor empty = device_tensor::uninitialized({0, 3, 4, 4});
  CHECK(empty.empty());
  CHECK(empty.data() == nullptr);
  CHECK(to_host(empty).shape() == shape{0, 3, 4, 4});
  CHECK(device_tensor().empty());

  std::vector<float> three(3);
  const device_tensor t({1, 2, 2, 1});
  const host_tensor h({1, 2, 2, 1});
  CHECK(error_of([&] { t.copy_to(three); }) == error_of([&] { h.copy_to(three); }));
  device_tensor u({1, 2, 2, 1});
  host_tensor v({1, 2, 2, 1});
  CHECK(error_of([&] { u.copy_from(three); }) == error_of([&] { v.copy_from(three); }));
  CHECK(error_of([] {
          (void)device_tensor::uninitialized({1, -1, 1, 1});
        }) == error_of([] {
          (void)host_tensor::uninitialized({1, -1, 1, 1});
        }));
  CHECK(error_of([&] { (void)t.reshaped({3, 1, 1, 1}); }) == error_of([&] { (void)h.reshaped({3, 1, 1, 1}); }));
}

TEST_CASE("cuda device_buffer and the resources: pooled handles, TF32 off by default") {
  device_buffer<std::int32_t> b(5);
  CHECK(b.size() == 5);
  b.resize(0);
  CHECK(b.empty());
  CHECK(b.to_host().empty());

  context<device> ctx = device_ctx();
  CHECK_FALSE(ctx.resources.allow_tf32);
  CHECK(ctx.resources.deterministic);
  CHECK(ctx.resources.cublas() != nullptr);
  const cublasHandle_t first = ctx.resources.cublas();
  CHECK(ctx.resources.cublas() == first);
  ctx.resources.synchronize();
  {
    context<device> other = device_ctx();
    CHECK(other.resources.cublas() != first);  // a second live context gets its own handles
  }
  CHECK(cuda_device_count() > 0);
}

TEST_CASE("cuda arithmetic matches the CPU: add, accumulate, scale, sum_squares, concat and split") {
  auto hc = host_ctx();
  auto dc = device_ctx();
  using H = ops::arithmetic<host>;
  using D = ops::arithmetic<device>;
  const shape s{4, 5, 9, 11};
  const host_tensor a = random_host(s, 1), b = random_host(s, 2);
  const device_tensor da = to_device(a), db = to_device(b);

  CHECK(identical(D::add(dc, da, db), H::add(hc, a, b)));
  FERGEN_CHECK_CLOSE(D::scale(dc, da, 0.37f), H::scale(hc, a, 0.37f), "scale");
  host_tensor acc = a.clone();
  device_tensor dacc = da.clone();
  H::accumulate(hc, acc, b, -1.5f);
  D::accumulate(dc, dacc, db, -1.5f);
  FERGEN_CHECK_CLOSE(dacc, acc, "accumulate");

  // Summed in double on both sides: only the order differs.
  for (const shape big : {s, shape{3, 64, 100, 101}, shape{1, 1, 1, 1}}) {
    const host_tensor x = random_host(big, 3);
    const device_tensor dx = to_device(x);
    const double cpu = H::sum_squares(hc, x), gpu = D::sum_squares(dc, dx);
    CHECK(std::abs(gpu - cpu) <= 1e-10 * cpu);
    CHECK(D::sum_squares(dc, dx) == gpu);  // deterministic: the same bits again
  }
  CHECK(D::sum_squares(dc, device_tensor::uninitialized({0, 1, 1, 1})) == 0.0);

  const std::vector<host_tensor> parts = {random_host({3, 2, 4, 5}, 4), random_host({3, 7, 4, 5}, 5),
                                          random_host({3, 1, 4, 5}, 6)};
  std::vector<device_tensor> dparts;
  for (const auto& p : parts) dparts.push_back(to_device(p));
  const host_tensor joined = H::concat_channels(hc, parts);
  const device_tensor djoined = D::concat_channels(dc, dparts);
  CHECK(identical(djoined, joined));
  const auto split = D::split_channels(dc, djoined, {2, 7, 1});
  REQUIRE(split.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(identical(split[i], parts[i]));

  CHECK(error_of([&] {
          D::add(dc, da, to_device(random_host({1, 1, 1, 1}, 1)));
        }) == error_of([&] {
          H::add(hc, a, random_host({1, 1, 1, 1}, 1));
        }));
  CHECK(error_of([&] {
          D::split_channels(dc, djoined, {2, 2});
        }) == error_of([&] {
          H::split_channels(hc, joined, {2, 2});
        }));
  CHECK(error_of([&] {
          D::concat_channels(dc, {dparts[0], to_device(random_host({3, 1, 5, 5}, 1))});
        }) == error_of([&] {
          H::concat_channels(hc, {parts[0], random_host({3, 1, 5, 5}, 1)});
        }));
}

namespace {

template <class F>
void check_activation(const F& f) {
  auto hc = host_ctx();
  auto dc = device_ctx();
  const shape s{8, 16, 13, 13};
  const host_tensor x = random_host(s, 11, -6.0f, 6.0f), dy = random_host(s, 12);
  const device_tensor dx = to_device(x), ddy = to_device(dy);
  const host_tensor y = ops::activation<host>::forward(hc, x, f);
  const device_tensor gy = ops::activation<device>::forward(dc, dx, f);
  FERGEN_CHECK_CLOSE(gy, y, std::string(F::name) + " forward");
  FERGEN_CHECK_CLOSE(ops::activation<device>::backward(dc, dx, gy, ddy, f),
                     ops::activation<host>::backward(hc, x, y, dy, f), std::string(F::name) + " backward");
}

}  // namespace

TEST_CASE("cuda activations match the CPU, forward and backward") {
  check_activation(ops::relu_function{});
  check_activation(ops::sigmoid_function{});
  check_activation(ops::tanh_function{});
  check_activation(ops::silu_function{});
  check_activation(ops::gelu_function{});
  check_activation(ops::gelu_function{.tanh = true});
}

TEST_CASE("cuda dropout draws the CPU's mask bit for bit from the same stream") {
  auto hc = host_ctx();
  auto dc = device_ctx();
  for (const double p : {0.0, 0.1, 0.5, 0.9, 1.0}) {
    const shape s{3, 5, 7, 9};  // 945 elements: not a multiple of four
    const host_tensor x = random_host(s, 21), dy = random_host(s, 22);
    const random_stream stream{1234, 5};
    const auto [y, mask] = ops::dropout<host>::forward(hc, x, p, stream);
    const auto [gy, gmask] = ops::dropout<device>::forward(dc, to_device(x), p, stream);
    INFO("p = ", p);
    CHECK(identical(gmask, mask));
    CHECK(identical(gy, y));
    CHECK(identical(ops::dropout<device>::backward(dc, to_device(dy), gmask),
                    ops::dropout<host>::backward(hc, dy, mask)));
  }
}

// GCC 12 warns, wrongly, that the layers' optional masks "may be used uninitialized" in their destructors.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
TEST_CASE("cuda dropout layer: reseeded contexts give the same masks on both backends") {
  // The layer takes a fresh stream per forward from ctx.rng.
  nn::dropout<host> hd(0.3);
  nn::dropout<device> dd(0.3);
  auto h1 = context<host>::train(99);
  auto d1 = context<device>::train(99);
  const host_tensor x = random_host({2, 3, 4, 5}, 23);
  for (int i = 0; i < 3; ++i) CHECK(identical(dd.forward(d1, to_device(x)), hd.forward(h1, x)));
}
#pragma GCC diagnostic pop

TEST_CASE("cuda losses match the CPU: cross-entropy with label smoothing, MSE with sample weights") {
  auto hc = host_ctx();
  auto dc = device_ctx();
  struct ce_case {
    shape s;
    double smoothing;
  };
  for (const auto& c : {ce_case{{64, 7, 1, 1}, 0.0}, ce_case{{64, 7, 1, 1}, 0.1}, ce_case{{3, 1000, 1, 1}, 0.2},
                        ce_case{{257, 2, 1, 1}, 1.0}}) {
    const host_tensor logits = random_host(c.s, 31, -20.0f, 20.0f);
    std::vector<std::int64_t> labels(static_cast<std::size_t>(c.s.n));
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int64_t>((i * 7 + 3) % c.s.c);
    const auto [loss, grad] = ops::losses<host>::softmax_cross_entropy(hc, logits, labels, c.smoothing);
    const auto [gloss, ggrad] = ops::losses<device>::softmax_cross_entropy(dc, to_device(logits), labels, c.smoothing);
    INFO("logits ", c.s, ", smoothing ", c.smoothing);
    CHECK(std::abs(gloss - loss) <= 1e-10 * std::abs(loss));
    FERGEN_CHECK_CLOSE(ggrad, grad, "cross_entropy gradient");
  }
  const std::vector<std::int64_t> bad = {0, 7};
  CHECK(error_of([&] {
          ops::losses<device>::softmax_cross_entropy(dc, device_tensor({2, 7, 1, 1}), bad, 0.0);
        }) == error_of([&] {
          ops::losses<host>::softmax_cross_entropy(hc, host_tensor({2, 7, 1, 1}), bad, 0.0);
        }));

  const shape s{16, 3, 12, 12};
  const host_tensor p = random_host(s, 41), t = random_host(s, 42);
  std::vector<double> weights(16);
  for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = 0.25 + 0.1 * static_cast<double>(i);
  for (const bool weighted : {false, true}) {
    const std::span<const double> w = weighted ? std::span<const double>(weights) : std::span<const double>();
    const auto [loss, grad] = ops::losses<host>::mse(hc, p, t, w);
    const auto [gloss, ggrad] = ops::losses<device>::mse(dc, to_device(p), to_device(t), w);
    INFO("weighted ", weighted);
    CHECK(std::abs(gloss - loss) <= 1e-10 * loss);
    FERGEN_CHECK_CLOSE(ggrad, grad, "mse gradient");
  }
  CHECK(error_of([&] { ops::losses<device>::mse(dc, to_device(p), to_device(t), std::vector<double>(3)); }) ==
        error_of([&] { ops::losses<host>::mse(hc, p, t, std::vector<double>(3)); }));
}

TEST_CASE("cuda optimiser steps match the CPU over several updates: SGD, Adam, AdamW, EMA, scale, copy") {
  auto hc = host_ctx();
  auto dc = device_ctx();
  const shape s{64, 32, 3, 3};
  const host_tensor p0 = random_host(s, 51);
  std::vector<host_tensor> grads;
  for (std::uint64_t k = 0; k < 4; ++k) grads.push_back(random_host(s, 60 + k));

  for (const auto& o :
       {ops::sgd_step_options{0.1, 0.0, 0.0, 0.0, false}, ops::sgd_step_options{0.05, 0.9, 0.1, 1e-4, false},
        ops::sgd_step_options{0.05, 0.9, 0.0, 5e-4, true}}) {
    host_tensor p = p0.clone(), buffer(s);
    device_tensor dp = to_device(p0), dbuffer(s);
    for (std::size_t k = 0; k < grads.size(); ++k) {
      ops::optimizer_steps<host>::sgd_step(hc, p, grads[k], o.momentum != 0 ? &buffer : nullptr, o, k == 0);
      ops::optimizer_steps<device>::sgd_step(dc, dp, to_device(grads[k]), o.momentum != 0 ? &dbuffer : nullptr, o,
                                             k == 0);
    }
    INFO("momentum ", o.momentum, ", nesterov ", o.nesterov);
    FERGEN_CHECK_CLOSE(dp, p, "sgd parameter");
    if (o.momentum != 0) FERGEN_CHECK_CLOSE(dbuffer, buffer, "sgd momentum buffer");
  }

  for (const bool decoupled : {false, true}) {
    host_tensor p = p0.clone(), m(s), v(s);
    device_tensor dp = to_device(p0), dm(s), dv(s);
    for (std::size_t k = 0; k < grads.size(); ++k) {
      const ops::adam_step_options o{1e-3, 0.9, 0.999, 1e-8, 1e-2, decoupled, static_cast<std::int64_t>(k + 1)};
      ops::optimizer_steps<host>::adam_step(hc, p, grads[k], m, v, o);
      ops::optimizer_steps<device>::adam_step(dc, dp, to_device(grads[k]), dm, dv, o);
    }
    INFO("decoupled ", decoupled);
    FERGEN_CHECK_CLOSE(dp, p, "adam parameter");
    FERGEN_CHECK_CLOSE(dm, m, "adam exp_avg");
    FERGEN_CHECK_CLOSE(dv, v, "adam exp_avg_sq");
  }

  host_tensor shadow = p0.clone();
  device_tensor dshadow = to_device(p0);
  for (const auto& g : grads) {
    ops::optimizer_steps<host>::ema_step(hc, shadow, g, 0.99);
    ops::optimizer_steps<device>::ema_step(dc, dshadow, to_device(g), 0.99);
  }
  FERGEN_CHECK_CLOSE(dshadow, shadow, "ema");
  ops::optimizer_steps<host>::scale(hc, shadow, 0.3);
  ops::optimizer_steps<device>::scale(dc, dshadow, 0.3);
  FERGEN_CHECK_CLOSE(dshadow, shadow, "scale");
  device_tensor into(s);
  ops::optimizer_steps<device>::copy(dc, into, dshadow);
  CHECK(identical(into, to_host(dshadow)));

  device_tensor wrong({1, 1, 1, 1});
  host_tensor hwrong({1, 1, 1, 1});
  CHECK(error_of([&] { ops::optimizer_steps<device>::ema_step(dc, wrong, to_device(p0), 0.5); }) ==
        error_of([&] { ops::optimizer_steps<host>::ema_step(hc, hwrong, p0, 0.5); }));
}
