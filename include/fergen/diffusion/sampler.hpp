// fergen/diffusion/sampler.hpp: the sampling loop: pure noise to images, with any registered sampler (DDPM, DDIM,
// DPM-Solver++(2M)), any number of steps, clipping and classifier-free guidance, deterministic by per-image random
// streams. The samplers' registry: their names and the type behind each (docs/samplers.md: adding one).
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/diffusion_steps.hpp>
#include <fergen/backend/diffusion_steps.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/key_value.hpp>
#include <fergen/core/rng.hpp>
#include <fergen/core/tensor.hpp>
#include <fergen/diffusion/ddim.hpp>
#include <fergen/diffusion/ddpm.hpp>
#include <fergen/diffusion/dpm_solver.hpp>
#include <fergen/diffusion/guidance.hpp>
#include <fergen/diffusion/names.hpp>
#include <fergen/diffusion/noise_schedule.hpp>
#include <fergen/diffusion/parameterization.hpp>
#include <fergen/diffusion/predicted_x0.hpp>
#include <fergen/diffusion/sampler_run.hpp>
#include <fergen/diffusion/timesteps.hpp>
#include <fergen/models/denoiser.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

// A sampler is registered by three lines: its kind here, its name in sampler_names and its type in
// sampler_options::with_sampler (-Wswitch names a kind without a type).
enum class sampler_kind { ddpm, ddim, dpmpp2m };

inline constexpr std::pair<std::string_view, sampler_kind> sampler_names[] = {
    {"ddpm", sampler_kind::ddpm}, {"ddim", sampler_kind::ddim}, {"dpmpp2m", sampler_kind::dpmpp2m}};
inline sampler_kind sampler_from_name(std::string_view name) { return detail::from_name("sampler", name, sampler_names); }
inline std::string_view name_of(sampler_kind k) { return detail::to_name(k, sampler_names); }
// "ddpm, ddim, dpmpp2m": for help texts, which then need no edit when a sampler is added.
inline std::string sampler_name_list() { return detail::known_names(sampler_names); }

// Everything that chooses how images are sampled; independent of the schedule and the parameterisation.
struct sampler_options {
  sampler_kind kind = sampler_kind::ddim;
  std::int64_t steps = 50;                               // network evaluations (x2 with guidance); <= T
  timestep_spacing spacing = timestep_spacing::trailing;  // starts from pure noise at T - 1
  std::int64_t offset = 0;                               // diffusers' steps_offset
  double eta = 0.0;                                      // DDIM's noise (0: deterministic, 1: DDPM's variance)
  variance_type variance = variance_type::fixed_small;   // DDPM's noise
  sample_clip clip{};
  diffusion::guidance guidance{};

  // The sampler of `kind`, made from these options, handed to f: the registry's one line per sampler.
  template <class F>
  decltype(auto) with_sampler(F&& f) const {
    switch (kind) {
      case sampler_kind::ddpm: return f(ddpm_sampler{variance});
      case sampler_kind::ddim: return f(ddim_sampler{eta});
      case sampler_kind::dpmpp2m: return f(dpmpp2m_sampler{});
    }
    fail("sampler: kind ", static_cast<int>(kind), " is not registered");
  }

  // The timestep sequence; also the check that the options fit a process of T steps.
  std::vector<std::int64_t> timesteps(std::int64_t train_timesteps) const {
    with_sampler([](const auto& sampler) {
      if constexpr (requires { sampler.validate(); }) sampler.validate();
    });
    require(!clip.enabled || (std::isfinite(clip.range) && clip.range > 0), "sampler: clip range ", clip.range,
            " must be a finite value > 0");
    return sampling_timesteps(train_timesteps, steps, spacing, offset);
  }

  // Its key=value entries (core/key_value.hpp), as `fergen generate` records them beside its images.
  key_value_list entries() const {
    return key_value_writer{}
        .add("sampler", name_of(kind))
        .add("steps", steps)
        .add("spacing", name_of(spacing))
        .add("offset", offset)
        .add("eta", eta)
        .add("variance", name_of(variance))
        .add("clip", clip.enabled)
        .add("clip_range", clip.range)
        .add("guidance", guidance.scale)
        .entries();
  }

  static sampler_options from_entries(const key_value_map& e, std::string_view origin) {
    const key_value_reader r(e, std::string(origin), "sampler option");
    sampler_options o;
    o.kind = sampler_from_name(r.text("sampler"));
    o.steps = r.get<std::int64_t>("steps");
    o.spacing = timestep_spacing_from_name(r.text("spacing"));
    o.offset = r.get<std::int64_t>("offset");
    o.eta = r.get<double>("eta");
    o.variance = variance_type_from_name(r.text("variance"));
    o.clip.enabled = r.get<bool>("clip");
    o.clip.range = r.get<double>("clip_range");
    o.guidance.scale = r.get<double>("guidance");
    r.reject_unknown(o.entries());
    return o;
  }

  std::string describe() const {
    std::string d = str(name_of(kind), ", ", steps, " steps (", name_of(spacing), ")");
    d += with_sampler([](const auto& sampler) {
      if constexpr (requires { sampler.describe(); }) return str(", ", sampler.describe());
      else return std::string();
    });
    if (clip.enabled) d += str(", clip +-", clip.range);
    if (guidance.active()) d += str(", guidance ", guidance.scale);
    return d;
  }
};

namespace detail {
// Everything sample() and sample_from() check before the first network evaluation.
template <class Model>
std::vector<std::int64_t> check_sampling(Model& model, const noise_schedule& schedule, const sampler_options& options,
                                         const shape& batch, std::span<const std::int64_t> labels,
                                         std::span<const random_stream> streams) {
  std::vector<std::int64_t> timesteps = options.timesteps(schedule.timesteps());
  options.guidance.check(model);
  model.output_shape(batch);
  require(static_cast<std::int64_t>(streams.size()) == batch.n, "sample: ", streams.size(), " random streams for ",
          batch.n, " images (one per image)");
  if (model.class_count() > 0)
    require(labels.size() == streams.size(), "sample: ", labels.size(), " labels for ", streams.size(),
            " images (one per image)");
  else
    require(labels.empty(), "sample: labels given to an unconditional network");
  return timesteps;
}

// The reverse process from x_T through the checked timesteps, with the options' sampler.
template <class Model>
tensor<typename Model::backend> run_sampler(Model& model, context<typename Model::backend>& ctx,
                                            const noise_schedule& schedule, prediction_type prediction,
                                            const sampler_options& options, const std::vector<std::int64_t>& timesteps,
                                            tensor<typename Model::backend> x, std::span<const std::int64_t> labels,
                                            std::span<const random_stream> streams,
                                            const std::function<void(std::int64_t, std::int64_t)>& on_step) {
  using B = typename Model::backend;
  std::vector<double> t_values(streams.size());
  const denoise_fn<B> denoise = [&](const tensor<B>& x_t, std::int64_t t) {
    std::fill(t_values.begin(), t_values.end(), static_cast<double>(t));
    return guided_output(model, ctx, x_t, t_values, labels, options.guidance);
  };
  const sampling_setup<B> setup{ctx, schedule, prediction, options.clip, timesteps, streams, x.shape()};
  options.with_sampler([&]<class S>(const S& sampler) {
    static_assert(sampler_for<S, B>, "a registered sampler must have run<B> with step(i, x_t, denoise): see sampler_run.hpp");
    typename S::template run<B> run(sampler, setup);
    const auto count = static_cast<std::int64_t>(timesteps.size());
    for (std::int64_t i = 0; i < count; ++i) {
      x = run.step(static_cast<std::size_t>(i), x, denoise);
      if (on_step) on_step(i + 1, count);
    }
  });
  return x;
}
}  // namespace detail

// Samples images [N, C, H, W] (N = streams.size()) from a denoiser: x_T ~ N(0, I), then each timestep of the
// sequence. labels: one per image (empty for an unconditional network). The result depends only on the
// network's weights, the options and each image's stream (and, in the last bits, the batch the image is
// computed in on a given number of threads). on_step(i, steps) is called after each step.
// Checks every option before the first network evaluation.
template <class Model>
  requires models::conditional_denoiser<Model>
tensor<typename Model::backend> sample(Model& model, const noise_schedule& schedule, prediction_type prediction,
                                      const sampler_options& options, shape image,
                                      std::span<const std::int64_t> labels, std::span<const random_stream> streams,
                                      const std::function<void(std::int64_t, std::int64_t)>& on_step = {}) {
  using B = typename Model::backend;
  image.n = static_cast<std::int64_t>(streams.size());
  const std::vector<std::int64_t> timesteps = detail::check_sampling(model, schedule, options, image, labels, streams);
  context<B> ctx = context<B>::eval();
  tensor<B> x = ops::diffusion_steps<B>::normal(ctx, image, streams, 0);
  return detail::run_sampler(model, ctx, schedule, prediction, options, timesteps, std::move(x), labels, streams, on_step);
}

// The same from a given x_T [N, C, H, W] instead of the streams' draw (the streams still give the noise that
// DDPM and DDIM add on the way): for comparing a sampler with another implementation from the same start.
template <class Model>
  requires models::conditional_denoiser<Model>
tensor<typename Model::backend> sample_from(Model& model, const noise_schedule& schedule, prediction_type prediction,
                                           const sampler_options& options, const tensor<typename Model::backend>& x_T,
                                           std::span<const std::int64_t> labels,
                                           std::span<const random_stream> streams,
                                           const std::function<void(std::int64_t, std::int64_t)>& on_step = {}) {
  using B = typename Model::backend;
  const std::vector<std::int64_t> timesteps =
      detail::check_sampling(model, schedule, options, x_T.shape(), labels, streams);
  context<B> ctx = context<B>::eval();
  return detail::run_sampler(model, ctx, schedule, prediction, options, timesteps, x_T, labels, streams, on_step);
}

}  // namespace diffusion
FERGEN_END_NAMESPACE
