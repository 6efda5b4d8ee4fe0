// fergen/diffusion/reverse_step_run.hpp: the run of a sampler whose every step is one network evaluation and one
// ops::reverse_step (DDPM, DDIM): no state between steps.
#pragma once

#include <fergen/backend/cpu/diffusion_steps.hpp>
#include <fergen/backend/diffusion_steps.hpp>
#include <fergen/core/tensor.hpp>
#include <fergen/diffusion/sampler_run.hpp>
#include <fergen/diffusion/timesteps.hpp>

#include <cstddef>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

// S reduces the step t -> prev to six numbers on the host: S::step(schedule, t, prev, prediction, clip) ->
// ops::reverse_step_coefficients; the op applies them where the tensors live, adding the image's noise of step i.
template <class B, class S>
class reverse_step_run {
 public:
  reverse_step_run(const S& sampler, const sampling_setup<B>& setup) : sampler_(sampler), setup_(setup) {}

  tensor<B> step(std::size_t i, const tensor<B>& x_t, const denoise_fn<B>& denoise) {
    const std::int64_t t = setup_.timesteps[i];
    const std::int64_t prev = previous_timestep(setup_.timesteps, i);
    const tensor<B> output = denoise(x_t, t);
    return ops::diffusion_steps<B>::reverse_step(setup_.ctx, x_t, output,
                                                 sampler_.step(setup_.schedule, t, prev, setup_.prediction, setup_.clip),
                                                 setup_.streams, noise_offset(static_cast<std::int64_t>(i), setup_.image));
  }

 private:
  S sampler_;
  sampling_setup<B> setup_;
};

}  // namespace diffusion
FERGEN_END_NAMESPACE
