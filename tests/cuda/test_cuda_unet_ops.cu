// CUDA tests: the ops the diffusion UNet, its sampler and the backbones' gray input path add (self-attention,
// embedding, channel bias, timestep embedding, the channel map, diffusion's combine / noise / reverse step, the
// fast SiLU) against the CPU backend on the same inputs.
#include "cuda_support.hpp"
#include "support/errors.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

using namespace fergen;
using namespace fergen::testing;

TEST_CASE("cuda attention matches the CPU: the UNet's maps, one and several heads, forward and backward") {
  auto hc = context<host>::train();
  auto dc = context<device>::train();
  struct attention_case {
    shape qkv;
    std::int64_t heads;
  };
  // The study's 12 x 12 map at 128 channels (batch 4 here), the middle, several heads, a 1 x 1 map.
  for (const auto& c : {attention_case{{4, 384, 12, 12}, 1}, attention_case{{3, 96, 6, 6}, 4},
                        attention_case{{2, 24, 5, 7}, 2}, attention_case{{3, 12, 1, 1}, 1}}) {
    INFO("qkv ", c.qkv, ", ", c.heads, " heads");
    const std::int64_t ch = c.qkv.c / 3;
    const host_tensor qkv = random_host(c.qkv, 1, -2.0f, 2.0f), dy = random_host({c.qkv.n, ch, c.qkv.h, c.qkv.w}, 2);
    const auto r = ops::attention<host>::forward(hc, qkv, c.heads, true);
    const auto d = ops::attention<device>::forward(dc, to_device(qkv), c.heads, true);
    FERGEN_CHECK_CLOSE(d.y, r.y, "output");
    FERGEN_CHECK_CLOSE(d.weights, r.weights, "weights");
    const auto alone = ops::attention<device>::forward(dc, to_device(qkv), c.heads, false);
    CHECK(alone.weights.empty());
    FERGEN_CHECK_CLOSE(alone.y, r.y, "output without weights");
    FERGEN_CHECK_CLOSE(ops::attention<device>::backward(dc, to_device(dy), to_device(qkv), d.weights, c.heads),
                       ops::attention<host>::backward(hc, dy, qkv, r.weights, c.heads), "gradient");
  }
  CHECK(error_of([&] { ops::attention<device>::forward(dc, device_tensor({1, 10, 2, 2}), 1, true); }) ==
        error_of([&] { ops::attention<host>::forward(hc, host_tensor({1, 10, 2, 2}), 1, true); }));
}

TEST_CASE("cuda embedding, channel bias and timestep embedding match the CPU") {
  auto hc = context<host>::train();
  auto dc = context<device>::train();
  const host_tensor table = random_host({8, 256, 1, 1}, 1);
  std::vector<std::int64_t> labels(37);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int64_t>((i * 5) % 8);
  CHECK(identical(ops::embedding<device>::forward(dc, to_device(table), labels),
                  ops::embedding<host>::forward(hc, table, labels)));
  const host_tensor dy = random_host({37, 256, 1, 1}, 2);
  host_tensor dw = random_host(table.shape(), 3);
  device_tensor ddw = to_device(dw);
  ops::embedding<host>::backward(hc, dy, labels, dw);
  ops::embedding<device>::backward(dc, to_device(dy), labels, ddw);
  CHECK(identical(ddw, dw));  // in sample order, in float, as the CPU adds them
  const std::vector<std::int64_t> bad{0, 8};
  CHECK(error_of([&] { ops::embedding<device>::forward(dc, to_device(table), bad); }) ==
        error_of([&] { ops::embedding<host>::forward(hc, table, bad); }));

  for (const shape s : {shape{16, 128, 24, 24}, shape{3, 5, 1, 1}, shape{2, 7, 13, 11}}) {
    INFO("input ", s);
    const host_tensor x = random_host(s, 4), bias = random_host({s.n, s.c, 1, 1}, 5);
    CHECK(identical(ops::channel_bias<device>::forward(dc, to_device(x), to_device(bias)),
                    ops::channel_bias<host>::forward(hc, x, bias)));
    FERGEN_CHECK_CLOSE(ops::channel_bias<device>::backward_bias(dc, to_device(x)),
                       ops::channel_bias<host>::backward_bias(hc, x), "bias gradient");
  }

  std::vector<double> t;
  for (int i = 0; i < 50; ++i) t.push_back(static_cast<double>((i * 397) % 1000));
  t.push_back(999.0);
  t.push_back(999.0);
  for (const std::int64_t dim : {64, 32, 9}) {
    const ops::timestep_embedding_geometry g{.dim = dim};
    // Both sides compute in double; the device's sin and cos are within 2 ulp of glibc's.
    const host_tensor expected = ops::timestep_embedding<host>::forward(hc, t, g);
    const host_tensor got = to_host(ops::timestep_embedding<device>::forward(dc, t, g));
    double worst = 0;
    for (std::int64_t i = 0; i < got.size(); ++i)
      worst = std::max(worst, std::abs(static_cast<double>(got.data()[i]) - expected.data()[i]));
    CHECK(worst <= 1e-6);
  }
}

TEST_CASE("cuda channel map matches the CPU: ImageNet's normalisation and the gray path's lift and fold") {
  auto hc = context<host>::train();
  auto dc = context<device>::train();
  const host_tensor images = random_host({5, 3, 40, 40}, 1, 0.0f, 1.0f);
  FERGEN_CHECK_CLOSE(models::imagenet::normalize(dc, to_device(images)), models::imagenet::normalize(hc, images),
                     "ImageNet normalisation");
  const std::vector<double> lift{0.5, -2.0}, lift_shift{0.25, 1.0}, fold{1.0, 2.0, -0.5, 0.1, 0.2, 0.3};
  const host_tensor gray = random_host({4, 1, 48, 48}, 2), w = random_host({64, 3, 7, 7}, 3);
  const ops::channel_map lift_map{2, 1, lift, lift_shift}, fold_map{2, 3, fold, {}};
  FERGEN_CHECK_CLOSE(ops::channel_affine<device>::forward(dc, to_device(gray), lift_map),
                     ops::channel_affine<host>::forward(hc, gray, lift_map), "lift");
  FERGEN_CHECK_CLOSE(ops::channel_affine<device>::forward(dc, to_device(w), fold_map),
                     ops::channel_affine<host>::forward(hc, w, fold_map), "fold");
  CHECK(error_of([&] { ops::channel_affine<device>::forward(dc, to_device(w), lift_map); }) ==
        error_of([&] { ops::channel_affine<host>::forward(hc, w, lift_map); }));
}

TEST_CASE("cuda diffusion steps match the CPU: combine, the same noise from the same streams, reverse steps") {
  auto hc = context<host>::train();
  auto dc = context<device>::train();
  const shape s{64, 1, 48, 48};
  const host_tensor x = random_host(s, 1), y = random_host(s, 2);
  std::vector<double> per_a, per_b;
  std::vector<random_stream> streams;
  for (std::int64_t n = 0; n < s.n; ++n) {
    per_a.push_back(0.01 * static_cast<double>(n));
    per_b.push_back(1.0 - 0.005 * static_cast<double>(n));
    streams.push_back(diffusion::image_stream(42, n % 7, n));
  }
  const std::vector<double> one_a{0.7}, one_b{-0.3};
  for (const auto& [a, b] : {std::pair{std::span<const double>(one_a), std::span<const double>(one_b)},
                             std::pair{std::span<const double>(per_a), std::span<const double>(per_b)},
                             std::pair{std::span<const double>(per_a), std::span<const double>(one_b)}}) {
    FERGEN_CHECK_CLOSE(ops::diffusion_steps<device>::combine(dc, to_device(x), a, to_device(y), b),
                       ops::diffusion_steps<host>::combine(hc, x, a, y, b), "combine");
  }
  for (const std::uint64_t offset : {std::uint64_t{0}, std::uint64_t{2304}, std::uint64_t{17} * 2304}) {
    // Philox gives the same words; Box-Muller in double on both sides, then the cast to float.
    const host_tensor expected = ops::diffusion_steps<host>::normal(hc, s, streams, offset);
    const host_tensor got = to_host(ops::diffusion_steps<device>::normal(dc, s, streams, offset));
    double worst = 0;
    std::int64_t differing = 0;
    for (std::int64_t i = 0; i < got.size(); ++i) {
      worst = std::max(worst, std::abs(static_cast<double>(got.data()[i]) - expected.data()[i]));
      differing += got.data()[i] != expected.data()[i];
    }
    MESSAGE("normal at offset " << offset << ": " << differing << " of " << got.size()
                                << " values differ in the last bit or more, by at most " << worst);
    CHECK(worst <= 1e-6);
  }
  for (const bool clip : {false, true}) {
    for (const double sigma : {0.0, 0.35}) {
      INFO("clip ", clip, ", sigma ", sigma);
      const ops::reverse_step_coefficients c{1.3, -0.6, clip, -0.5, 0.5, 0.8, 0.15, sigma};
      FERGEN_CHECK_CLOSE(
          ops::diffusion_steps<device>::reverse_step(dc, to_device(x), to_device(y), c, streams, 2304),
          ops::diffusion_steps<host>::reverse_step(hc, x, y, c, streams, 2304), "reverse step");
    }
  }
  const std::vector<random_stream> too_few(3);
  CHECK(error_of([&] { ops::diffusion_steps<device>::normal(dc, s, too_few, 0); }) ==
        error_of([&] { ops::diffusion_steps<host>::normal(hc, s, too_few, 0); }));
}

TEST_CASE("cuda fast SiLU (the UNet's activation) matches the CPU, forward and backward") {
  auto hc = context<host>::train();
  auto dc = context<device>::train();
  const shape s{8, 64, 24, 24};
  host_tensor x = random_host(s, 1, -30.0f, 30.0f);
  x.data()[3] = 200.0f;
  x.data()[4] = -200.0f;
  const host_tensor dy = random_host(s, 2);
  const ops::fast_silu_function f{};
  const host_tensor y = ops::activation<host>::forward(hc, x, f);
  const device_tensor dx = to_device(x), dyy = ops::activation<device>::forward(dc, dx, f);
  FERGEN_CHECK_CLOSE(dyy, y, "forward");
  FERGEN_CHECK_CLOSE(ops::activation<device>::backward(dc, dx, dyy, to_device(dy), f),
                     ops::activation<host>::backward(hc, x, y, dy, f), "backward");
}
