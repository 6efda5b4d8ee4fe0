// DPM-Solver++(2M) (diffusion/dpm_solver.hpp) against diffusers' DPMSolverMultistepScheduler restated in numpy
// (tests/reference/dpm_solver_reference.py): a fixed function of (x, t, label) stands in for the network, and every
// step of the trajectory is compared, for each prediction type, with and without clipping, with guidance, on two
// schedules and two values of T. Then what follows from the formulas alone, and the sampler's options.
#include <fergen/diffusion/beta_schedule.hpp>
#include <fergen/diffusion/ddim.hpp>
#include <fergen/diffusion/dpm_solver.hpp>
#include <fergen/diffusion/noise_schedule.hpp>
#include <fergen/diffusion/sampler.hpp>

#include "support/errors.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

using namespace fergen;
using namespace fergen::diffusion;
using testing::contains;
using testing::error_of;

namespace {

constexpr const char* fixture = "dpm_solver_reference";

// The reference's network: out = (0.3 + 0.5 t / T) x + 0.5 sin(2 x + 0.37 j + 0.9 label), j the element's index
// within its image; two classes and a null class (2), so that guidance applies. Computed in double, as numpy does.
template <class B>
class fixed_network {
 public:
  using backend = B;
  using tensor_type = tensor<B>;
  static constexpr std::string_view model_type = "fixed";

  explicit fixed_network(std::int64_t train_timesteps) : T_(static_cast<double>(train_timesteps)) {}

  std::int64_t class_count() const { return 2; }
  std::int64_t null_label() const { return 2; }
  shape output_shape(const shape& x) const { return x; }
  template <class V>
  void visit_parameters(V&&) {}
  tensor_type backward(context<B>&, const tensor_type& dy) { return dy; }

  tensor_type forward(context<B>&, const tensor_type& x, std::span<const double> t, std::span<const std::int64_t> y) {
    const shape s = x.shape();
    tensor_type out(s);
    const std::int64_t per = s.per_sample();
    for (std::int64_t n = 0; n < s.n; ++n) {
      const double scale = 0.3 + 0.5 * t[static_cast<std::size_t>(n)] / T_;
      const double label = static_cast<double>(y[static_cast<std::size_t>(n)]);
      for (std::int64_t j = 0; j < per; ++j) {
        const double v = static_cast<double>(x.data()[n * per + j]);
        out.data()[n * per + j] =
            static_cast<typename tensor_type::value_type>(scale * v + 0.5 * std::sin(2 * v + 0.37 * static_cast<double>(j) + 0.9 * label));
      }
    }
    return out;
  }

 private:
  double T_;
};

struct reference_case {
  beta_schedule schedule;
  sampler_options options;
  prediction_type prediction;
  std::vector<std::int64_t> timesteps;
  std::vector<double> path;  // [steps, N, C, H, W]
  std::string name;
};

std::vector<reference_case> reference_cases(const npz_archive& ref) {
  std::vector<reference_case> cases;
  const auto count = testing::values_of<std::int64_t>(ref, "cases")[0];
  for (std::int64_t k = 0; k < count; ++k) {
    const auto p = testing::values_of<double>(ref, str("case_", k, "_params"));
    reference_case c;
    c.schedule = {.kind = p[0] == 0 ? beta_schedule_kind::linear : beta_schedule_kind::cosine,
                  .timesteps = static_cast<std::int64_t>(p[1])};
    c.options = {.kind = sampler_kind::dpmpp2m,
                 .steps = static_cast<std::int64_t>(p[2]),
                 .clip = {.enabled = p[4] != 0},
                 .guidance = {.scale = p[5]}};
    c.prediction = p[3] == 0 ? prediction_type::epsilon : p[3] == 1 ? prediction_type::sample : prediction_type::v;
    c.timesteps = testing::values_of<std::int64_t>(ref, str("case_", k, "_timesteps"));
    c.path = testing::values_of<double>(ref, str("case_", k, "_path"));
    c.name = str(name_of(c.schedule.kind), " T ", p[1], ", ", c.options.describe(), ", ", name_of(c.prediction));
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<random_stream> streams_of(std::uint64_t seed, std::int64_t n) {
  std::vector<random_stream> s;
  for (std::int64_t i = 0; i < n; ++i) s.push_back({seed, static_cast<std::uint64_t>(i + 1)});
  return s;
}

// Every case of the reference through the sampler's run, step by step (each x compared), and through sample_from
// (the loop with guidance and the option checks), on backend cpu<T>.
template <class T>
void check_against_reference(double tolerance) {
  using B = cpu<T>;
  const npz_archive ref = testing::load_reference(fixture, "dpmpp2m");
  const auto x_T = testing::to_tensor<T>(testing::member(ref, "x_T"));
  const auto labels = testing::values_of<std::int64_t>(ref, "labels");
  const auto streams = streams_of(1, x_T.shape().n);
  for (const reference_case& c : reference_cases(ref)) {
    CAPTURE(c.name);
    const noise_schedule schedule(c.schedule);
    fixed_network<B> net(c.schedule.timesteps);
    const std::vector<std::int64_t> timesteps = c.options.timesteps(schedule.timesteps());
    REQUIRE(timesteps == c.timesteps);  // fergen's trailing spacing is the scheduler's

    auto ctx = context<B>::eval();
    std::vector<double> t_values(labels.size());
    const denoise_fn<B> denoise = [&](const tensor<B>& x, std::int64_t t) {
      std::fill(t_values.begin(), t_values.end(), static_cast<double>(t));
      return guided_output(net, ctx, x, t_values, labels, c.options.guidance);
    };
    const sampling_setup<B> setup{ctx, schedule, c.prediction, c.options.clip, timesteps, streams, x_T.shape()};
    dpmpp2m_sampler::run<B> run(dpmpp2m_sampler{}, setup);
    tensor<B> x = x_T;
    for (std::size_t i = 0; i < timesteps.size(); ++i) {
      CAPTURE(i);
      x = run.step(i, x, denoise);
      CHECK(testing::row_relative_difference(x, c.path, i) < tolerance);
    }
    const auto whole = sample_from(net, schedule, c.prediction, c.options, x_T, labels, streams);
    CHECK(testing::row_relative_difference(whole, c.path, timesteps.size() - 1) < tolerance);
  }
}

}  // namespace

TEST_CASE("DPM-Solver++(2M) follows diffusers' DPMSolverMultistepScheduler (numpy) step by step, in double") {
  check_against_reference<double>(1e-12);
}

TEST_CASE("DPM-Solver++(2M) follows diffusers' DPMSolverMultistepScheduler (numpy) step by step, in float") {
  check_against_reference<float>(1e-5);
}

TEST_CASE("DPM-Solver++(2M) of 2 steps is DDIM with eta 0: the first step is first order, the last lands on x0") {
  // Its first-order update, sigma_t / sigma_s x + alpha_t (1 - e^-h) x0, is DDIM's deterministic step written in
  // lambda; with two steps the second-order update is never used.
  using B = cpu<double>;
  const noise_schedule schedule{beta_schedule{}};
  fixed_network<B> net(1000);
  const auto x_T = tensor<B>::from(std::vector<double>{0.3, -1.2, 0.8, 2.1, -0.4, 0.05}, {2, 3, 1, 1});
  const std::vector<std::int64_t> labels{1, 0};
  const auto streams = streams_of(4, 2);
  for (auto p : {prediction_type::epsilon, prediction_type::sample, prediction_type::v}) {
    CAPTURE(name_of(p));
    const auto dpm = sample_from(net, schedule, p, {.kind = sampler_kind::dpmpp2m, .steps = 2}, x_T, labels, streams);
    const auto ddim = sample_from(net, schedule, p, {.kind = sampler_kind::ddim, .steps = 2, .eta = 0}, x_T, labels, streams);
    for (std::int64_t i = 0; i < dpm.size(); ++i) CHECK(dpm.data()[i] == doctest::Approx(ddim.data()[i]).epsilon(1e-12));
    // With three steps the middle one is second order, and the two differ.
    const auto dpm3 = sample_from(net, schedule, p, {.kind = sampler_kind::dpmpp2m, .steps = 3}, x_T, labels, streams);
    const auto ddim3 = sample_from(net, schedule, p, {.kind = sampler_kind::ddim, .steps = 3, .eta = 0}, x_T, labels, streams);
    double differ = 0;
    for (std::int64_t i = 0; i < dpm3.size(); ++i) differ = std::max(differ, std::abs(dpm3.data()[i] - ddim3.data()[i]));
    CHECK(differ > 1e-3);
  }
}

TEST_CASE("DPM-Solver++(2M) is deterministic: it draws no noise, so the streams do not change its images") {
  using B = cpu<float>;
  const noise_schedule schedule{beta_schedule{}};
  fixed_network<B> net(1000);
  const auto x_T = tensor<B>::from(std::vector<float>{0.3f, -1.2f, 0.8f, 2.1f, -0.4f, 0.05f}, {2, 3, 1, 1});
  const std::vector<std::int64_t> labels{1, 0};
  const sampler_options o{.kind = sampler_kind::dpmpp2m, .steps = 15, .guidance = {.scale = 2.0}};
  const auto a = sample_from(net, schedule, prediction_type::epsilon, o, x_T, labels, streams_of(1, 2));
  const auto b = sample_from(net, schedule, prediction_type::epsilon, o, x_T, labels, streams_of(2, 2));
  CHECK(std::equal(a.values().begin(), a.values().end(), b.values().begin()));
  // sample() draws x_T from the streams: other streams, other images.
  const auto c = sample(net, schedule, prediction_type::epsilon, o, {0, 3, 1, 1}, labels, streams_of(1, 2));
  const auto d = sample(net, schedule, prediction_type::epsilon, o, {0, 3, 1, 1}, labels, streams_of(2, 2));
  CHECK(!std::equal(c.values().begin(), c.values().end(), d.values().begin()));
}

TEST_CASE("dpmpp2m options: its name, the key=value round trip, the description, and errors before any evaluation") {
  CHECK(sampler_from_name("dpmpp2m") == sampler_kind::dpmpp2m);
  CHECK(name_of(sampler_kind::dpmpp2m) == "dpmpp2m");
  CHECK(contains(error_of([] { sampler_from_name("dpm++2m"); }), "unknown sampler 'dpm++2m' (known: ddpm, ddim, dpmpp2m)"));

  const sampler_options o{.kind = sampler_kind::dpmpp2m, .steps = 15, .spacing = timestep_spacing::linspace,
                          .clip = {.enabled = true, .range = 1.5}, .guidance = {.scale = 2.0}};
  CHECK(o.describe() == "dpmpp2m, 15 steps (linspace), clip +-1.5, guidance 2");
  key_value_map e;
  for (const auto& [k, v] : o.entries()) e[k] = v;
  CHECK(e.at("sampler") == "dpmpp2m");
  const sampler_options back = sampler_options::from_entries(e, "sampler.txt");
  CHECK(back.kind == sampler_kind::dpmpp2m);
  CHECK(back.steps == 15);
  CHECK(back.spacing == timestep_spacing::linspace);
  CHECK(back.clip.range == 1.5);
  CHECK(back.guidance.scale == 2.0);
  CHECK(back.describe() == o.describe());

  // Too many steps, a bad clip range, guidance without a null class: errors before the network runs.
  using B = cpu<float>;
  const noise_schedule schedule{beta_schedule{.timesteps = 50}};
  fixed_network<B> net(50);
  const std::vector<std::int64_t> labels{0};
  const auto streams = streams_of(1, 1);
  auto run = [&](sampler_options bad) {
    bad.kind = sampler_kind::dpmpp2m;
    return error_of([&] { sample(net, schedule, prediction_type::epsilon, bad, {0, 3, 1, 1}, labels, streams); });
  };
  CHECK(contains(run({.steps = 51}), "51 sampling steps is more than the model's T = 50 diffusion steps"));
  CHECK(contains(run({.steps = 0}), "0 sampling steps"));
  CHECK(contains(run({.steps = 10, .clip = {.enabled = true, .range = 0}}), "clip range 0 must be a finite value > 0"));
  CHECK(contains(run({.steps = 10, .guidance = {.scale = -1}}), "guidance: scale -1 must be a finite value >= 0"));
  const auto x_T = tensor<B>::from(std::vector<float>{0.1f, 0.2f, 0.3f}, {1, 3, 1, 1});
  CHECK(contains(error_of([&] {
                   sample_from(net, schedule, prediction_type::epsilon, {.kind = sampler_kind::dpmpp2m, .steps = 5}, x_T,
                               labels, streams_of(1, 2));
                 }),
                 "sample: 2 random streams for 1 images"));
}
