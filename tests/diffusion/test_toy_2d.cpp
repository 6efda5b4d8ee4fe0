// The 2-D toy as an acceptance test: a small MLP denoiser learns a mixture of six Gaussians of unequal
// weights; an epsilon-predicting model sampled by DDPM, and a v-predicting one sampled by DDIM with eta = 1
// (stochastic) and eta = 0 (deterministic), must each put every mode's mass within 10% of the truth. Trained on the trainer of diffusion/trainer.hpp, sampled by diffusion/sampler.hpp.
#include <fergen/diffusion/sampler.hpp>
#include <fergen/diffusion/trainer.hpp>
#include <fergen/models/mlp_denoiser.hpp>
#include <fergen/nn/initialize.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <numbers>
#include <string>
#include <vector>

using namespace fergen;
using namespace fergen::diffusion;
using B = cpu<float>;

namespace {

constexpr int modes = 6;
constexpr double weights[modes] = {0.25, 0.20, 0.15, 0.15, 0.15, 0.10};
constexpr double spread = 0.07;

double centre(int k, int axis) {
  const double angle = 2 * std::numbers::pi * k / modes;
  return axis == 0 ? std::cos(angle) : std::sin(angle);
}

// n points of the mixture as [n, 2, 1, 1], drawn from a stream.
tensor<B> draw(std::int64_t n, generator& g) {
  const random_stream normal = g.take();
  std::vector<float> v(static_cast<std::size_t>(2 * n));
  for (std::int64_t i = 0; i < n; ++i) {
    double u = g.uniform(), acc = 0;
    int k = 0;
    while (k + 1 < modes && u >= (acc += weights[k])) ++k;
    for (int axis = 0; axis < 2; ++axis)
      v[static_cast<std::size_t>(2 * i + axis)] =
          static_cast<float>(centre(k, axis) + spread * normal.normal(static_cast<std::uint64_t>(2 * i + axis)));
  }
  return tensor<B>::from(v, {n, 2, 1, 1});
}

struct coverage {
  double mass[modes] = {};
  double near = 0;  // fraction within 4 standard deviations of its nearest mode
};

coverage measure(const tensor<B>& x) {
  coverage c;
  const std::int64_t n = x.shape().n;
  for (std::int64_t i = 0; i < n; ++i) {
    int best = 0;
    double best_d = 1e300;
    for (int k = 0; k < modes; ++k) {
      const double dx = x.data()[2 * i] - centre(k, 0), dy = x.data()[2 * i + 1] - centre(k, 1);
      const double d = std::hypot(dx, dy);
      if (d < best_d) best_d = d, best = k;
    }
    c.mass[best] += 1.0 / static_cast<double>(n);
    if (best_d < 4 * spread) c.near += 1.0 / static_cast<double>(n);
  }
  return c;
}

models::mlp_denoiser<B> train_toy(prediction_type prediction) {
  models::mlp_denoiser<B> net({.dim = 2, .hidden = 128, .depth = 3, .time_dim = 32});
  nn::initialize(net, 1);
  trainer_options o;
  o.batch = 256;
  o.steps = 2500;
  o.lr = 2e-3;
  o.warmup_steps = 100;
  o.ema_decay = 0.995;
  o.label_dropout = 0;
  o.seed = 2;
  trainer t(net, diffusion_config{.schedule = {.kind = beta_schedule_kind::cosine}, .prediction = prediction}, o);
  generator data(3);
  for (std::int64_t s = 0; s < o.steps; ++s) t.step(draw(o.batch, data), {});
  return t.averaged_model();
}

void check_coverage(const coverage& c, const char* what) {
  CAPTURE(std::string(what));
  CHECK(c.near > 0.95);
  for (int k = 0; k < modes; ++k) {
    CAPTURE(k);
    CAPTURE(c.mass[k]);
    CHECK(std::abs(c.mass[k] - weights[k]) <= 0.1 * weights[k]);
  }
  MESSAGE(std::string(what) << ": masses " << c.mass[0] << " " << c.mass[1] << " " << c.mass[2] << " " << c.mass[3] << " "
               << c.mass[4] << " " << c.mass[5] << " (truth .25 .20 .15 .15 .15 .10), " << 100 * c.near
               << "% within 4 sd of a mode");
}

}  // namespace

TEST_CASE("2-D toy: the denoiser learns every mode of a Gaussian mixture with the right masses") {
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  const noise_schedule schedule{beta_schedule{.kind = beta_schedule_kind::cosine}};
  std::vector<random_stream> streams;
  for (std::uint64_t i = 0; i < 6000; ++i) streams.push_back({77, i + 1});
  {
    auto net = train_toy(prediction_type::epsilon);
    const auto ddpm = sample(net, schedule, prediction_type::epsilon,
                             {.kind = sampler_kind::ddpm, .steps = 250, .clip = {.range = 1.5}}, {0, 2, 1, 1}, {}, streams);
    check_coverage(measure(ddpm), "epsilon, DDPM 250 steps");
  }
  {
    auto net = train_toy(prediction_type::v);
    const auto ddim = sample(net, schedule, prediction_type::v,
                             {.kind = sampler_kind::ddim, .steps = 50, .eta = 1.0, .clip = {.range = 1.5}}, {0, 2, 1, 1},
                             {}, streams);
    check_coverage(measure(ddim), "v, DDIM 50 steps, eta 1");
    const auto ode = sample(net, schedule, prediction_type::v,
                             {.kind = sampler_kind::ddim, .steps = 100, .eta = 0.0, .clip = {.range = 1.5}}, {0, 2, 1, 1},
                             {}, streams);
    check_coverage(measure(ode), "v, DDIM 100 steps, eta 0");
  }
  // The cost is fixed by the step counts, not asserted: a timed check fails on a busy machine (OpenMP threads
  // that wait for a core burn CPU time too). Measured, single-threaded, on the project's 2-core machine: see
  // README (Tests).
  const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("trained two models and sampled 3 x 6000 points in " << cpu << " s of CPU time (" << wall << " s wall)");
}
