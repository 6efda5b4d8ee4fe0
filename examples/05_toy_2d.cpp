// 05_toy_2d: a diffusion model small enough to watch. A mixture of six Gaussians in the plane, with unequal
// weights, is learned by a residual MLP denoiser (models/mlp_denoiser.hpp) with the same trainer, schedules
// and samplers as the image model; then the program samples from it with DDPM and with DDIM, counts how many
// samples land on each mode, and draws the data beside the samples.
//
//   05_toy_2d [--steps 2500] [--out toy.png] [--seed 2]
//
// By default it writes docs/toy_2d.png (run it from the repository root). About 20 s on two cores.
#include <fergen/data/image.hpp>
#include <fergen/data/image_io.hpp>
#include <fergen/diffusion/sampler.hpp>
#include <fergen/diffusion/trainer.hpp>
#include <fergen/models/mlp_denoiser.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/parameters.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <string>
#include <vector>

namespace diffusion = fergen::diffusion;
namespace data = fergen::data;
using B = fergen::cpu<float>;

namespace {

constexpr int modes = 6;
constexpr double weights[modes] = {0.25, 0.20, 0.15, 0.15, 0.15, 0.10};
constexpr double spread = 0.07;  // standard deviation of each mode

double centre(int k, int axis) {
  const double angle = 2 * std::numbers::pi * k / modes;
  return axis == 0 ? std::cos(angle) : std::sin(angle);
}

// n points of the mixture as [n, 2, 1, 1].
fergen::tensor<B> draw(std::int64_t n, fergen::generator& g) {
  const fergen::random_stream normal = g.take();
  std::vector<float> v(static_cast<std::size_t>(2 * n));
  for (std::int64_t i = 0; i < n; ++i) {
    double u = g.uniform(), acc = 0;
    int k = 0;
    while (k + 1 < modes && u >= (acc += weights[k])) ++k;
    for (int axis = 0; axis < 2; ++axis)
      v[static_cast<std::size_t>(2 * i + axis)] =
          static_cast<float>(centre(k, axis) + spread * normal.normal(static_cast<std::uint64_t>(2 * i + axis)));
  }
  return fergen::tensor<B>::from(v, {n, 2, 1, 1});
}

// The share of points nearest to each mode.
std::vector<double> masses(const fergen::tensor<B>& x) {
  std::vector<double> m(modes, 0.0);
  const std::int64_t n = x.shape().n;
  for (std::int64_t i = 0; i < n; ++i) {
    int best = 0;
    double best_d = 1e300;
    for (int k = 0; k < modes; ++k) {
      const double d = std::hypot(x.data()[2 * i] - centre(k, 0), x.data()[2 * i + 1] - centre(k, 1));
      if (d < best_d) best_d = d, best = k;
    }
    m[static_cast<std::size_t>(best)] += 1.0 / static_cast<double>(n);
  }
  return m;
}

// A density picture of the points on [-1.5, 1.5]^2: dark where many land.
data::image scatter(const fergen::tensor<B>& x, std::int64_t size) {
  data::image img(1, size, size, 255.0f);
  for (std::int64_t i = 0; i < x.shape().n; ++i) {
    const auto col = static_cast<std::int64_t>((x.data()[2 * i] + 1.5) / 3.0 * static_cast<double>(size));
    const auto row = static_cast<std::int64_t>((1.5 - x.data()[2 * i + 1]) / 3.0 * static_cast<double>(size));
    if (row >= 0 && row < size && col >= 0 && col < size) img.at(0, row, col) = std::max(0.0f, img.at(0, row, col) - 60.0f);
  }
  return img;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t steps = 2500;
  std::uint64_t seed = 2;
  std::string out = "docs/toy_2d.png";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--steps") steps = std::stoll(argv[i + 1]);
    else if (flag == "--seed") seed = std::stoull(argv[i + 1]);
    else if (flag == "--out") out = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: %s [--steps 2500] [--out toy.png] [--seed 2]\n", argv[0]);
      return 2;
    }
  }
  try {
    // The model: x_t (2 numbers) and the timestep in, the predicted noise out.
    fergen::models::mlp_denoiser<B> net({.dim = 2, .hidden = 128, .depth = 3, .time_dim = 32});
    fergen::nn::initialize(net, seed);
    const diffusion::diffusion_config process{.schedule = {.kind = diffusion::beta_schedule_kind::cosine}};
    diffusion::trainer_options o;
    o.batch = 256;
    o.steps = steps;
    o.lr = 2e-3;
    o.warmup_steps = 100;
    o.ema_decay = 0.995;
    o.label_dropout = 0;  // unconditional
    o.seed = seed;
    diffusion::trainer trainer(net, process, o);
    std::printf("A mixture of %d Gaussians on the unit circle (sd %.2f), weights .25 .20 .15 .15 .15 .10.\n"
                "Denoiser: MLP, %lld parameters; %s; batch %lld, %lld steps.\n\n",
                modes, spread, static_cast<long long>(fergen::nn::parameter_count(net)), process.describe().c_str(),
                static_cast<long long>(o.batch), static_cast<long long>(steps));
    fergen::generator data_rng(seed + 1);
    const auto start = std::chrono::steady_clock::now();
    double loss = 0;
    for (std::int64_t s = 1; s <= steps; ++s) {
      loss += trainer.step(draw(o.batch, data_rng), {});
      if (s % 500 == 0) {
        std::printf("step %5lld  loss %.4f\n", static_cast<long long>(s), loss / 500);
        loss = 0;
      }
    }
    std::printf("trained in %.1f s\n\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());

    // Sampling: 4000 points from the averaged weights, each with its own noise stream.
    auto model = trainer.averaged_model();
    std::vector<fergen::random_stream> streams;
    for (std::uint64_t i = 0; i < 4000; ++i) streams.push_back({seed + 100, i + 1});
    const auto real = draw(4000, data_rng);
    const diffusion::sampler_options ddpm{.kind = diffusion::sampler_kind::ddpm, .steps = 250, .clip = {.range = 1.5}};
    const diffusion::sampler_options ddim{.kind = diffusion::sampler_kind::ddim, .steps = 50, .eta = 1.0, .clip = {.range = 1.5}};
    const auto a = diffusion::sample(model, trainer.schedule(), process.prediction, ddpm, {0, 2, 1, 1}, {}, streams);
    const auto b = diffusion::sample(model, trainer.schedule(), process.prediction, ddim, {0, 2, 1, 1}, {}, streams);
    std::printf("%-28s", "mass per mode");
    for (int k = 0; k < modes; ++k) std::printf("  mode %d", k);
    std::printf("\n");
    auto row = [](const char* what, const std::vector<double>& m) {
      std::printf("%-28s", what);
      for (double v : m) std::printf("  %6.3f", v);
      std::printf("\n");
    };
    row("truth", std::vector<double>(weights, weights + modes));
    row("data (4000 draws)", masses(real));
    row("DDPM, 250 steps", masses(a));
    row("DDIM, 50 steps, eta 1", masses(b));
    const std::int64_t size = 160;
    data::image panels(1, size, 3 * size + 8, 128.0f);
    const data::image parts[] = {scatter(real, size), scatter(a, size), scatter(b, size)};
    for (int p = 0; p < 3; ++p)
      for (std::int64_t r = 0; r < size; ++r)
        for (std::int64_t c = 0; c < size; ++c) panels.at(0, r, p * (size + 4) + c) = parts[p].at(0, r, c);
    data::write_png(out, panels);
    std::printf("\nwrote %s: the data, DDPM's samples and DDIM's samples, on [-1.5, 1.5]^2.\n", out.c_str());
  } catch (const fergen::error& e) {
    std::fprintf(stderr, "05_toy_2d: %s\n", e.what());
    return 1;
  }
  return 0;
}
