// fergen/diffusion/sampler.hpp: the sampling loop: pure noise to images, with DDPM or DDIM, any number of
// steps, clipping and classifier-free guidance, deterministic by per-image random streams.
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
#include <fergen/diffusion/guidance.hpp>
#include <fergen/diffusion/names.hpp>
#include <fergen/diffusion/noise_schedule.hpp>
#include <fergen/diffusion/parameterization.hpp>
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

enum class sampler_kind { ddpm, ddim };

inline constexpr std::pair<std::string_view, sampler_kind> sampler_names[] = {{"ddpm", sampler_kind::ddpm},
                                                                              {"ddim", sampler_kind::ddim}};
inline sampler_kind sampler_from_name(std::string_view name) { return detail::from_name("sampler", name, sampler_names); }
inline std::string_view name_of(sampler_kind k) { return detail::to_name(k, sampler_names); }

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

  // The timestep sequence; also the check that the options fit a process of T steps.
  std::vector<std::int64_t> timesteps(std::int64_t train_timesteps) const {
    if (kind == sampler_kind::ddim) ddim_sampler{eta}.validate();
    require(!clip.enabled || (std::isfinite(clip.range) && clip.range > 0), "sampler: clip range ", clip.range,
            " must be a finite value > 0");
    return sampling_timesteps(train_timesteps, steps, spacing, offset);
  }

  // The reverse step t -> prev as the six numbers of ops::reverse_step_coefficients.
  ops::reverse_step_coefficients coefficients(const noise_schedule& s, std::int64_t t, std::int64_t prev,
                                              prediction_type p) const {
    if (kind == sampler_kind::ddpm) return ddpm_sampler{variance}.step(s, t, prev, p, clip);
    return ddim_sampler{eta}.step(s, t, prev, p, clip);
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
    d += kind == sampler_kind::ddim ? str(", eta ", eta) : str(", ", name_of(variance));
    if (clip.enabled) d += str(", clip +-", clip.range);
    if (guidance.active()) d += str(", guidance ", guidance.scale);
    return d;
  }
};

// Where sample n's noise comes from: its random stream gives the starting noise at offset 0 and the noise of
// reverse step i at offset (i + 1) * (values per image).
inline std::uint64_t noise_offset(std::int64_t step_index, const shape& image) {
  return static_cast<std::uint64_t>(step_index + 1) * static_cast<std::uint64_t>(image.per_sample());
}

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
  using steps_op = ops::diffusion_steps<B>;
  const std::vector<std::int64_t> timesteps = options.timesteps(schedule.timesteps());
  options.guidance.check(model);
  image.n = static_cast<std::int64_t>(streams.size());
  model.output_shape(image);
  if (model.class_count() > 0)
    require(labels.size() == streams.size(), "sample: ", labels.size(), " labels for ", streams.size(),
            " images (one per image)");
  else
    require(labels.empty(), "sample: labels given to an unconditional network");

  context<B> ctx = context<B>::eval();
  tensor<B> x = steps_op::normal(ctx, image, streams, 0);
  std::vector<double> t_values(streams.size());
  const auto count = static_cast<std::int64_t>(timesteps.size());
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t t = timesteps[static_cast<std::size_t>(i)];
    const std::int64_t prev = previous_timestep(timesteps, static_cast<std::size_t>(i));
    std::fill(t_values.begin(), t_values.end(), static_cast<double>(t));
    const tensor<B> output = guided_output(model, ctx, x, t_values, labels, options.guidance);
    x = steps_op::reverse_step(ctx, x, output, options.coefficients(schedule, t, prev, prediction), streams,
                               noise_offset(i, image));
    if (on_step) on_step(i + 1, count);
  }
  return x;
}

}  // namespace diffusion
FERGEN_END_NAMESPACE
