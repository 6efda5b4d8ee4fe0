// fergen/diffusion/sampler_run.hpp: what a sampler is to the sampling loop: a type whose run<B> carries its own
// state from one timestep to the next and calls the network as often as it needs.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/core/rng.hpp>
#include <fergen/core/shape.hpp>
#include <fergen/core/tensor.hpp>
#include <fergen/diffusion/noise_schedule.hpp>
#include <fergen/diffusion/parameterization.hpp>
#include <fergen/diffusion/predicted_x0.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

// Where sample n's noise comes from: its random stream gives the starting noise at offset 0 and the noise of
// reverse step i at offset (i + 1) * (values per image).
inline std::uint64_t noise_offset(std::int64_t step_index, const shape& image) {
  return static_cast<std::uint64_t>(step_index + 1) * static_cast<std::uint64_t>(image.per_sample());
}

// The network as a sampler sees it: its output for x_t at timestep t, guided (diffusion/guidance.hpp) and in the
// process' parameterisation. Each call is one network evaluation (two with guidance).
template <class B>
using denoise_fn = std::function<tensor<B>(const tensor<B>& x_t, std::int64_t t)>;

// What every sampler of one sampling run shares: the process, the visited timesteps (descending; the step from
// position i goes to previous_timestep(timesteps, i), -1 after the last: the clean data), the clipping of the
// predicted x0, and each image's random stream for samplers that add noise (at noise_offset(i, image)). It refers to
// the caller's context, schedule and timesteps, which outlive the run (sample() holds them).
template <class B>
struct sampling_setup {
  context<B>& ctx;
  const noise_schedule& schedule;
  prediction_type prediction;
  sample_clip clip;
  const std::vector<std::int64_t>& timesteps;
  std::span<const random_stream> streams;
  shape image;
};

// A sampler S is a small value (its own options) with a nested class template run<B>, made once per sampling run
// from (const S&, const sampling_setup<B>&) and asked for step(i, x_t, denoise) at positions i = 0, 1, ... of the
// timesteps: it returns x at the next timestep. Between steps a run keeps what it needs (a multistep solver its
// previous x0 predictions), and a step may call denoise more than once (Heun-like two-evaluation solvers).
// Optional members of S: validate() (throws on bad options; called before any network evaluation) and
// describe() (its options in words, for sampler_options::describe).
template <class S, class B>
concept sampler_for =
    std::constructible_from<typename S::template run<B>, const S&, const sampling_setup<B>&> &&
    requires(typename S::template run<B>& r, std::size_t i, const tensor<B>& x, const denoise_fn<B>& denoise) {
      { r.step(i, x, denoise) } -> std::same_as<tensor<B>>;
    };

}  // namespace diffusion
FERGEN_END_NAMESPACE
