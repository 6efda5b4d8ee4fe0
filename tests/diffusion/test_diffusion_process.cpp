// Tests of the diffusion process pieces, each on its own: beta schedules, the noise schedule, the
// parameterisations, loss weighting, timestep spacing, the DDPM and DDIM reverse steps, guidance and the
// sampling loop. Published values (diffusers' scheduler tests, Nichol & Dhariwal's cosine formula) are
// literals here; diffusers' formulas restated in numpy (tests/reference/diffusion_reference.py) give the rest.
#include <fergen/diffusion/beta_schedule.hpp>
#include <fergen/diffusion/config.hpp>
#include <fergen/diffusion/loss_weighting.hpp>
#include <fergen/diffusion/noise_schedule.hpp>
#include <fergen/diffusion/parameterization.hpp>
#include <fergen/diffusion/sampler.hpp>
#include <fergen/diffusion/timesteps.hpp>
#include <fergen/models/mlp_denoiser.hpp>
#include <fergen/nn/initialize.hpp>

#include "support/conditional_gradient_check.hpp"
#include "support/errors.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <algorithm>
#include <map>
#include <numbers>
#include <string>
#include <vector>

using namespace fergen;
using namespace fergen::diffusion;
using testing::contains;
using testing::error_of;

namespace {

constexpr const char* fixture = "diffusion_reference";

noise_schedule ddpm_linear() { return noise_schedule(beta_schedule{}); }

double max_abs_difference(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

}  // namespace

TEST_CASE("linear schedule: diffusers' published variances (fixed_small) at t = 0, 487, 999") {
  const noise_schedule s = ddpm_linear();
  CHECK(s.timesteps() == 1000);
  CHECK(std::abs(s.variance(0) - 0.0) < 1e-5);
  CHECK(std::abs(s.variance(487) - 0.00979) < 1e-5);
  CHECK(std::abs(s.variance(999) - 0.02) < 1e-5);
  // diffusers' DDIM test: _get_variance(t, prev) over jumps of 20 steps.
  CHECK(std::abs(s.variance(420, 400, variance_type::fixed_small) - 0.14771) < 1e-5);
  CHECK(std::abs(s.variance(980, 960, variance_type::fixed_small) - 0.32460) < 1e-5);
  CHECK(std::abs(s.variance(487, 486, variance_type::fixed_small) - 0.00979) < 1e-5);
  // fixed_large is beta itself.
  CHECK(s.variance(999, variance_type::fixed_large) == doctest::Approx(0.02).epsilon(1e-12));
  CHECK(s.variance(0, variance_type::fixed_large) == doctest::Approx(1e-4).epsilon(1e-12));
}

TEST_CASE("cosine schedule follows Nichol & Dhariwal's abar = f(t) / f(0), f(t) = cos((t/T + s)/(1 + s) pi/2)^2") {
  beta_schedule cfg{.kind = beta_schedule_kind::cosine, .timesteps = 1000};
  const noise_schedule s(cfg);
  auto f = [](double t) { return std::pow(std::cos((t / 1000.0 + 0.008) / 1.008 * std::numbers::pi / 2), 2); };
  for (std::int64_t t : {0, 1, 10, 250, 500, 750, 900, 990}) {
    CAPTURE(t);
    // abar after step t (0-based) is f(t + 1) / f(0) until the 0.999 clip of beta bites (only at the very end).
    CHECK(s.alpha_bar(t) == doctest::Approx(f(static_cast<double>(t + 1)) / f(0.0)).epsilon(1e-10));
  }
  CHECK(s.beta(999) == 0.999);  // the clip
  CHECK(s.beta(998) < 0.999);
}

TEST_CASE("beta schedules equal diffusers' formulas (numpy): linear, scaled_linear, cosine, sigmoid") {
  const npz_archive ref = testing::load_reference(fixture, "betas");
  for (const char* kind : {"linear", "scaled_linear", "cosine", "sigmoid"})
    for (std::int64_t T : {1000, 7}) {
      CAPTURE(kind);
      CAPTURE(T);
      const beta_schedule b{.kind = beta_schedule_from_name(kind), .timesteps = T};
      CHECK(max_abs_difference(b.betas(), testing::values_of<double>(ref, str(kind, "_", T))) < 1e-15);
    }
  const beta_schedule sd{.kind = beta_schedule_kind::scaled_linear, .beta_start = 0.00085, .beta_end = 0.012};
  CHECK(max_abs_difference(sd.betas(), testing::values_of<double>(ref, "scaled_linear_sd")) < 1e-15);
  const beta_schedule custom{.kind = beta_schedule_kind::custom, .given = {0.1, 0.2, 0.5}};
  const noise_schedule s(custom);
  CHECK(s.timesteps() == 3);
  CHECK(s.alpha_bar(2) == doctest::Approx(0.9 * 0.8 * 0.5));
}

TEST_CASE("noise schedule: abar in double, SNR, q_sample, posterior between any two timesteps") {
  const noise_schedule s = ddpm_linear();
  double product = 1;
  for (std::int64_t t = 0; t < 1000; ++t) product *= 1 - (1e-4 + (0.02 - 1e-4) * static_cast<double>(t) / 999.0);
  CHECK(s.alpha_bar(999) == doctest::Approx(product).epsilon(1e-13));
  CHECK(s.alpha_bar(999) == doctest::Approx(4.035829765375676e-05).epsilon(1e-9));
  CHECK(s.alpha_bar(-1) == 1.0);
  CHECK(s.snr(10) == doctest::Approx(s.alpha_bar(10) / (1 - s.alpha_bar(10))));
  // Posterior between t and t - 1 is DDPM's: mean coefficients and beta_tilde.
  const posterior p = s.between(300, 299);
  const double a_t = s.alpha_bar(300), a_prev = s.alpha_bar(299), beta = s.beta(300);
  CHECK(p.coef_x0 == doctest::Approx(std::sqrt(a_prev) * beta / (1 - a_t)).epsilon(1e-14));
  CHECK(p.coef_xt == doctest::Approx(std::sqrt(1 - beta) * (1 - a_prev) / (1 - a_t)).epsilon(1e-14));
  CHECK(p.variance == doctest::Approx((1 - a_prev) / (1 - a_t) * beta).epsilon(1e-14));
  CHECK(p.beta == doctest::Approx(beta).epsilon(1e-11));
  // q_sample per sample.
  using B = cpu<double>;
  auto ctx = context<B>::eval();
  const auto x0 = testing::random_tensor({2, 1, 2, 2}, 1), eps = testing::random_tensor({2, 1, 2, 2}, 2);
  const std::vector<std::int64_t> t{0, 999};
  const auto xt = s.q_sample(ctx, x0, eps, t);
  CHECK(xt(1, 0, 1, 1) == doctest::Approx(std::sqrt(s.alpha_bar(999)) * x0(1, 0, 1, 1) +
                                          std::sqrt(1 - s.alpha_bar(999)) * eps(1, 0, 1, 1)));
  CHECK(contains(error_of([&] { (void)s.between(5, 5); }), "previous timestep 5 is not before timestep 5"));
  CHECK(contains(error_of([&] { (void)s.alpha_bar(1000); }), "timestep 1000 is outside [0, 1000)"));
}

TEST_CASE("eps, x0 and v conversions round-trip, for every pair of parameterisations") {
  const prediction_type all[] = {prediction_type::epsilon, prediction_type::sample, prediction_type::v};
  for (double abar : {0.9999, 0.7, 0.2, 4e-5}) {
    const double x0 = 0.37, eps = -1.21;
    const double xt = std::sqrt(abar) * x0 + std::sqrt(1 - abar) * eps;
    for (auto p : all) {
      CAPTURE(name_of(p));
      CAPTURE(abar);
      const double out = target_of(p, abar)(x0, eps);  // what a perfect network of type p predicts
      CHECK(x0_from(p, abar)(xt, out) == doctest::Approx(x0).epsilon(1e-9));
      CHECK(noise_from(p, abar)(xt, out) == doctest::Approx(eps).epsilon(1e-9));
      for (auto q : all) {
        const double converted = convert(p, q, abar)(xt, out);
        CHECK(converted == doctest::Approx(target_of(q, abar)(x0, eps)).epsilon(1e-9));
        CHECK(convert(q, p, abar)(xt, converted) == doctest::Approx(out).epsilon(1e-8));
      }
    }
  }
  // v = sqrt(abar) eps - sqrt(1 - abar) x0 (Salimans & Ho).
  CHECK(target_of(prediction_type::v, 0.64)(1.0, 2.0) == doctest::Approx(0.8 * 2.0 - 0.6 * 1.0));
  CHECK(contains(error_of([] { x0_from(prediction_type::epsilon, 1.0); }), "abar = 1 is outside (0, 1)"));
  CHECK(prediction_type_from_name("x0") == prediction_type::sample);
  CHECK(contains(error_of([] { prediction_type_from_name("noise"); }),
                 "unknown prediction type 'noise' (known: eps, x0, v, epsilon, sample, v_prediction)"));
}

TEST_CASE("loss weighting: uniform and min-SNR-gamma for each parameterisation") {
  const loss_weighting uniform{};
  CHECK(uniform.weight(prediction_type::epsilon, 123.0) == 1.0);
  const loss_weighting m{.kind = loss_weighting_kind::min_snr, .gamma = 5};
  CHECK(m.weight(prediction_type::epsilon, 20.0) == doctest::Approx(5.0 / 20.0));
  CHECK(m.weight(prediction_type::epsilon, 2.0) == doctest::Approx(1.0));
  CHECK(m.weight(prediction_type::sample, 2.0) == doctest::Approx(2.0));
  CHECK(m.weight(prediction_type::sample, 20.0) == doctest::Approx(5.0));
  CHECK(m.weight(prediction_type::v, 20.0) == doctest::Approx(5.0 / 21.0));
  CHECK(m.weight(prediction_type::v, 2.0) == doctest::Approx(2.0 / 3.0));
  CHECK(contains(error_of([] { loss_weighting_from_name("snr"); }), "unknown loss weighting 'snr'"));
}

TEST_CASE("timestep spacing equals diffusers' set_timesteps; impossible requests are errors") {
  const npz_archive ref = testing::load_reference(fixture, "spacing");
  const auto cases = testing::values_of<std::int64_t>(ref, "cases");
  const auto values = testing::values_of<std::int64_t>(ref, "values");
  const timestep_spacing kinds[] = {timestep_spacing::leading, timestep_spacing::linspace, timestep_spacing::trailing};
  const std::size_t count = cases.size() / 5;
  CHECK(count > 150);
  for (std::size_t i = 0; i < count; ++i) {
    const auto kind = kinds[cases[i * 5]];
    const std::int64_t T = cases[i * 5 + 1], n = cases[i * 5 + 2], offset = cases[i * 5 + 3];
    const bool ok = cases[i * 5 + 4] != 0;
    CAPTURE(name_of(kind));
    CAPTURE(T);
    CAPTURE(n);
    CAPTURE(offset);
    if (!ok) {
      CHECK(contains(error_of([&] { sampling_timesteps(T, n, kind, offset); }), "outside [0, "));
      continue;
    }
    const auto t = sampling_timesteps(T, n, kind, offset);
    REQUIRE(static_cast<std::int64_t>(t.size()) == n);
    for (std::int64_t k = 0; k < n; ++k) CHECK(t[static_cast<std::size_t>(k)] == values[i * 1000 + static_cast<std::size_t>(k)]);
  }
  CHECK(sampling_timesteps(1000, 4, timestep_spacing::trailing) == std::vector<std::int64_t>{999, 749, 499, 249});
  CHECK(sampling_timesteps(1000, 4, timestep_spacing::leading) == std::vector<std::int64_t>{750, 500, 250, 0});
  // The previous timestep is the next array entry, -1 after the last.
  const auto t = sampling_timesteps(1000, 3, timestep_spacing::linspace);
  CHECK(t == std::vector<std::int64_t>{999, 500, 0});  // 499.5 rounds half to even, as numpy
  CHECK(previous_timestep(t, 0) == 500);
  CHECK(previous_timestep(t, 2) == -1);
  CHECK(contains(error_of([] { sampling_timesteps(1000, 1001, timestep_spacing::trailing); }),
                 "1001 sampling steps is more than the model's T = 1000 diffusion steps"));
  CHECK(contains(error_of([] { sampling_timesteps(1000, 0, timestep_spacing::trailing); }), "0 sampling steps"));
  CHECK(contains(error_of([] { timestep_spacing_from_name("uniform"); }), "unknown timestep spacing 'uniform'"));
}

TEST_CASE("DDPM and DDIM steps equal diffusers' (numpy) for every prediction type, with and without clipping") {
  using B = cpu<double>;
  const npz_archive ref = testing::load_reference(fixture, "steps");
  const noise_schedule s = ddpm_linear();
  auto ctx = context<B>::eval();
  const auto x = testing::to_tensor<double>(testing::member(ref, "x"));
  const auto out = testing::to_tensor<double>(testing::member(ref, "out"));
  const auto noise = testing::values_of<double>(ref, "noise");
  for (const char* pred : {"eps", "x0", "v"})
    for (int clip : {0, 1})
      for (auto [t, prev] : {std::pair{999, 979}, {500, 499}, {20, -1}, {1, 0}}) {
        const std::string key = str(pred, "_", clip, "_", t, "_", prev);
        CAPTURE(key);
        const sample_clip c{.enabled = clip != 0};
        const prediction_type p = prediction_type_from_name(pred);
        // Means: sigma 0, no noise drawn.
        auto mean_of = [&](ops::reverse_step_coefficients k) {
          k.sigma = 0;
          return ops::diffusion_steps<B>::reverse_step(ctx, x, out, k, {}, 0);
        };
        const auto ddpm = ddpm_sampler{}.step(s, t, prev, p, c);
        CHECK(testing::max_relative_difference(mean_of(ddpm), testing::member(ref, "ddpm_mean_" + key)) < 1e-12);
        const auto var = testing::values_of<double>(ref, "ddpm_var_" + key);
        CHECK(s.variance(t, prev, variance_type::fixed_small) == doctest::Approx(var[0]).epsilon(1e-12));
        CHECK(s.variance(t, prev, variance_type::fixed_large) == doctest::Approx(var[1]).epsilon(1e-12));
        // No noise on the step to the data (diffusers adds it whenever t > 0, even then).
        CHECK((prev < 0 ? ddpm.sigma == 0 : ddpm.sigma == doctest::Approx(std::sqrt(var[0]))));
        for (double eta : {0.0, 0.5, 1.0}) {
          CAPTURE(eta);
          const auto k = ddim_sampler{eta}.step(s, t, prev, p, c);
          // diffusers adds sigma * noise; here the same noise through the same coefficients.
          auto y = mean_of(k);
          for (std::int64_t i = 0; i < y.size(); ++i) y.data()[i] += k.sigma * noise[static_cast<std::size_t>(i)];
          CHECK(testing::max_relative_difference(y, testing::member(ref, str("ddim_", eta == 0 ? "0.0" : eta == 1 ? "1.0" : "0.5", "_", key))) < 1e-11);
        }
      }
}

TEST_CASE("DDIM with eta = 1 over the full timestep sequence is DDPM: its variance is the posterior variance") {
  const noise_schedule s = ddpm_linear();
  const auto timesteps = sampling_timesteps(1000, 1000, timestep_spacing::leading);
  CHECK(timesteps.front() == 999);
  for (std::size_t i = 0; i < timesteps.size(); ++i) {
    const std::int64_t t = timesteps[i], prev = previous_timestep(timesteps, i);
    CHECK(prev == t - 1);
    const double ddim_var = ddim_sampler{1.0}.variance(s, t, prev);
    CHECK(ddim_var == doctest::Approx(s.variance(t)).epsilon(1e-12));
    // And the whole step: same mean coefficients, same noise level.
    for (auto p : {prediction_type::epsilon, prediction_type::v}) {
      const auto a = ddim_sampler{1.0}.step(s, t, prev, p, {.enabled = false});
      const auto b = ddpm_sampler{}.step(s, t, prev, p, {.enabled = false});
      CHECK(a.prev_from_x0 == doctest::Approx(b.prev_from_x0).epsilon(1e-9));
      CHECK(a.prev_from_xt == doctest::Approx(b.prev_from_xt).epsilon(1e-9));
      CHECK(a.sigma == doctest::Approx(b.sigma).epsilon(1e-9));
    }
  }
}

TEST_CASE("bad schedule input: unknown names, T = 0, betas outside (0, 1)") {
  CHECK(contains(error_of([] { beta_schedule_from_name("cosin"); }),
                 "unknown beta schedule 'cosin' (known: linear, scaled_linear, cosine, sigmoid, custom"));
  CHECK(contains(error_of([] { beta_schedule{.timesteps = 0}.betas(); }), "T = 0 diffusion steps"));
  CHECK(contains(error_of([] { beta_schedule{.kind = beta_schedule_kind::custom}.betas(); }), "no betas given (T = 0)"));
  CHECK(contains(error_of([] { beta_schedule{.kind = beta_schedule_kind::custom, .given = {0.1, 1.0}}.betas(); }),
                 "beta[1] = 1 is outside (0, 1)"));
  CHECK(contains(error_of([] { beta_schedule{.beta_start = 0.02, .beta_end = 0.01}.betas(); }),
                 "must satisfy 0 < beta_start <= beta_end < 1"));
  CHECK(contains(error_of([] { sampler_from_name("euler"); }), "unknown sampler 'euler' (known: ddpm, ddim, dpmpp2m)"));
  CHECK(contains(error_of([] { variance_type_from_name("learned"); }), "unknown variance type 'learned'"));
}

TEST_CASE("diffusion configuration round-trips through text, custom betas exactly") {
  diffusion_config c{.schedule = {.kind = beta_schedule_kind::custom, .given = {0.1, 1.0 / 3.0, 0.25}},
                     .prediction = prediction_type::v};
  std::map<std::string, std::string> e;
  for (const auto& [k, v] : c.entries()) e[k] = v;
  const diffusion_config back = diffusion_config::from_entries(e, "test");
  CHECK(back.schedule.given == c.schedule.given);
  CHECK(back.prediction == prediction_type::v);
  e["schedule"] = "warped";
  CHECK(contains(error_of([&] { diffusion_config::from_entries(e, "ckpt"); }), "unknown beta schedule 'warped'"));
}

TEST_CASE("sampling: same streams -> bit-identical images, other streams -> different; guidance needs a null class") {
  using B = cpu<float>;
  models::mlp_denoiser<B> net({.dim = 3, .hidden = 16, .depth = 1, .classes = 2});
  nn::initialize(net, 3);
  const noise_schedule s = ddpm_linear();
  const std::vector<std::int64_t> labels{0, 1, 1};
  auto streams_of = [](std::uint64_t seed) {
    return std::vector<random_stream>{{seed, 1}, {seed, 2}, {seed, 3}};
  };
  for (auto kind : {sampler_kind::ddpm, sampler_kind::ddim, sampler_kind::dpmpp2m}) {
    sampler_options o{.kind = kind, .steps = 20, .eta = 0.5, .guidance = {.scale = 2.0}};
    const auto a = sample(net, s, prediction_type::epsilon, o, {0, 3, 1, 1}, labels, streams_of(7));
    const auto b = sample(net, s, prediction_type::epsilon, o, {0, 3, 1, 1}, labels, streams_of(7));
    const auto c = sample(net, s, prediction_type::epsilon, o, {0, 3, 1, 1}, labels, streams_of(8));
    CHECK(std::equal(a.values().begin(), a.values().end(), b.values().begin()));
    CHECK(!std::equal(a.values().begin(), a.values().end(), c.values().begin()));
    // Each image depends only on its own stream: image 2 alone equals image 2 of the batch.
    const std::vector<random_stream> one{{7, 3}};
    const std::vector<std::int64_t> label_one{1};
    const auto alone = sample(net, s, prediction_type::epsilon, o, {0, 3, 1, 1}, label_one, one);
    for (int i = 0; i < 3; ++i) CHECK(alone(0, i, 0, 0) == doctest::Approx(a(2, i, 0, 0)).epsilon(1e-5));
  }
  models::mlp_denoiser<B> no_null({.dim = 3, .hidden = 8, .depth = 1, .classes = 2, .null_class = false});
  sampler_options guided{.steps = 5, .guidance = {.scale = 3.0}};
  CHECK(contains(error_of([&] { sample(no_null, s, prediction_type::epsilon, guided, {0, 3, 1, 1}, labels, streams_of(1)); }),
                 "needs a network with a null class"));
  sampler_options too_many{.steps = 1001};
  CHECK(contains(error_of([&] { sample(net, s, prediction_type::epsilon, too_many, {0, 3, 1, 1}, labels, streams_of(1)); }),
                 "1001 sampling steps is more than the model's T = 1000"));
}

TEST_CASE("DDPM and DDIM through the sampler interface are one reverse_step per timestep, bit for bit") {
  // The loop before samplers were types: x_T from the streams, then at each position i the guided output and
  // ops::reverse_step with the sampler's six coefficients and the noise at noise_offset(i). Kept bit for bit, so
  // that the study's DDIM images did not change.
  using B = cpu<float>;
  models::mlp_denoiser<B> net({.dim = 3, .hidden = 16, .depth = 1, .classes = 2});
  nn::initialize(net, 5);
  const noise_schedule s = ddpm_linear();
  const std::vector<std::int64_t> labels{1, 0, 1};
  const std::vector<random_stream> streams{{9, 1}, {9, 2}, {9, 3}};
  const shape image{3, 3, 1, 1};
  for (const sampler_options& o : {sampler_options{.kind = sampler_kind::ddpm, .steps = 30, .variance = variance_type::fixed_large},
                                  sampler_options{.kind = sampler_kind::ddim, .steps = 25, .eta = 0.7, .guidance = {.scale = 2.0}}}) {
    CAPTURE(o.describe());
    auto ctx = context<B>::eval();
    const auto timesteps = o.timesteps(s.timesteps());
    tensor<B> x = ops::diffusion_steps<B>::normal(ctx, image, streams, 0);
    for (std::size_t i = 0; i < timesteps.size(); ++i) {
      const std::int64_t t = timesteps[i], prev = previous_timestep(timesteps, i);
      const std::vector<double> t_values(streams.size(), static_cast<double>(t));
      const auto out = guided_output(net, ctx, x, t_values, labels, o.guidance);
      const auto c = o.kind == sampler_kind::ddpm ? ddpm_sampler{o.variance}.step(s, t, prev, prediction_type::v, o.clip)
                                                  : ddim_sampler{o.eta}.step(s, t, prev, prediction_type::v, o.clip);
      x = ops::diffusion_steps<B>::reverse_step(ctx, x, out, c, streams, noise_offset(static_cast<std::int64_t>(i), image));
    }
    const auto sampled = sample(net, s, prediction_type::v, o, image, labels, streams);
    CHECK(std::equal(x.values().begin(), x.values().end(), sampled.values().begin()));
  }
}

TEST_CASE("the MLP denoiser passes finite differences (input, time and label embeddings, every layer)") {
  models::mlp_denoiser<cpu<double>> net({.dim = 2, .hidden = 6, .depth = 2, .time_dim = 4, .classes = 3});
  testing::randomize_parameters(net, 4);
  const std::vector<double> t{3, 800, 40};
  const std::vector<std::int64_t> y{0, 3, 2};
  testing::check_denoiser_gradients(net, {3, 2, 1, 1}, t, y);
}

namespace {

// The exact denoiser of a dataset of a few fixed images with equal weights: E[x0 | x_t] is the posterior
// mean over the images (a softmax of -|x_t - sqrt(abar) x_k|^2 / (2 (1 - abar))), returned in the requested
// parameterisation. Sampling with it must land on the images, which checks the whole loop (timesteps,
// posterior, parameterisation, noise offsets) independently of any training.
class oracle_denoiser {
 public:
  using backend = cpu<double>;
  using tensor_type = tensor<backend>;
  static constexpr std::string_view model_type = "oracle";

  oracle_denoiser(std::vector<std::vector<double>> images, const noise_schedule& s, prediction_type p)
      : images_(std::move(images)), schedule_(s), prediction_(p) {}

  std::int64_t class_count() const { return 0; }
  std::int64_t null_label() const { return -1; }
  shape output_shape(const shape& x) const { return x; }
  template <class V>
  void visit_parameters(V&&) {}
  tensor_type backward(context<backend>&, const tensor_type& dy) { return dy; }

  tensor_type forward(context<backend>&, const tensor_type& x, std::span<const double> t, std::span<const std::int64_t>) {
    const shape s = x.shape();
    tensor_type out(s);
    const auto per = static_cast<std::size_t>(s.per_sample());
    for (std::int64_t n = 0; n < s.n; ++n) {
      const double abar = schedule_.alpha_bar(static_cast<std::int64_t>(t[static_cast<std::size_t>(n)]));
      const double* xt = x.data() + n * s.per_sample();
      std::vector<double> logw(images_.size());
      for (std::size_t k = 0; k < images_.size(); ++k) {
        double d = 0;
        for (std::size_t i = 0; i < per; ++i) d += std::pow(xt[i] - std::sqrt(abar) * images_[k][i], 2);
        logw[k] = -d / (2 * (1 - abar));
      }
      const double top = *std::max_element(logw.begin(), logw.end());
      double total = 0;
      for (auto& w : logw) total += w = std::exp(w - top);
      for (std::size_t i = 0; i < per; ++i) {
        double x0 = 0;
        for (std::size_t k = 0; k < images_.size(); ++k) x0 += logw[k] / total * images_[k][i];
        const double eps = (xt[i] - std::sqrt(abar) * x0) / std::sqrt(1 - abar);
        out.data()[n * s.per_sample() + static_cast<std::int64_t>(i)] = target_of(prediction_, abar)(x0, eps);
      }
    }
    return out;
  }

 private:
  std::vector<std::vector<double>> images_;
  const noise_schedule& schedule_;
  prediction_type prediction_;
};

}  // namespace

TEST_CASE("with the exact denoiser of two images, every sampler and parameterisation lands on the images") {
  const std::vector<std::vector<double>> images{{0.8, -0.6, 0.1, -0.9, 0.5, 0.0}, {-0.7, 0.4, 0.9, 0.2, -0.3, 0.6}};
  const shape image{0, 6, 1, 1};
  std::vector<random_stream> streams;
  for (std::uint64_t i = 0; i < 200; ++i) streams.push_back({5, i + 1});
  for (auto kind : {beta_schedule_kind::linear, beta_schedule_kind::cosine}) {
    const noise_schedule s{beta_schedule{.kind = kind}};
    for (auto p : {prediction_type::epsilon, prediction_type::sample, prediction_type::v}) {
      oracle_denoiser oracle(images, s, p);
      const sampler_options configs[] = {
          {.kind = sampler_kind::ddpm, .steps = 1000},
          {.kind = sampler_kind::ddpm, .steps = 50},
          {.kind = sampler_kind::ddim, .steps = 50, .eta = 0.0},
          {.kind = sampler_kind::ddim, .steps = 20, .eta = 1.0},
          {.kind = sampler_kind::ddim, .steps = 10, .spacing = timestep_spacing::linspace, .eta = 0.0, .clip = {.enabled = false}},
          {.kind = sampler_kind::dpmpp2m, .steps = 15},
          {.kind = sampler_kind::dpmpp2m, .steps = 15, .clip = {.enabled = false}},
          // 10 trailing steps end at t = 99 of the linear schedule, where the two images' posterior is still a
          // mixture for a few samples (DDIM's too); linspace's last step starts at t = 0.
          {.kind = sampler_kind::dpmpp2m, .steps = 10, .spacing = timestep_spacing::linspace},
      };
      for (const auto& o : configs) {
        CAPTURE(name_of(kind));
        CAPTURE(name_of(p));
        CAPTURE(o.describe());
        const auto x = sample(oracle, s, p, o, image, {}, streams);
        int on_first = 0, off = 0;
        for (std::int64_t n = 0; n < x.shape().n; ++n) {
          double d0 = 0, d1 = 0;
          for (std::size_t i = 0; i < 6; ++i) {
            d0 = std::max(d0, std::abs(x(n, static_cast<std::int64_t>(i), 0, 0) - images[0][i]));
            d1 = std::max(d1, std::abs(x(n, static_cast<std::int64_t>(i), 0, 0) - images[1][i]));
          }
          on_first += d0 < d1;
          off += std::min(d0, d1) > 0.02;
        }
        CHECK(off == 0);
        CHECK(on_first > 70);   // about half of 200 on each image
        CHECK(on_first < 130);
      }
    }
  }
}
