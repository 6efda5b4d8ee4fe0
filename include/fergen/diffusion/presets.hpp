// fergen/diffusion/presets.hpp: named, complete diffusion setups: network, process, training and sampling.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/diffusion/config.hpp>
#include <fergen/diffusion/names.hpp>
#include <fergen/diffusion/sampler.hpp>
#include <fergen/diffusion/trainer_options.hpp>
#include <fergen/models/unet_config.hpp>
#include <fergen/models/unet_presets.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

struct preset {
  std::string name;
  models::unet_config model;
  diffusion_config process;
  trainer_options trainer;
  sampler_options sampler;  // for generation
};

namespace presets {

// `fergen demo` on a 2-core CPU: a couple of minutes of training per generator. 32x32 frames, the UNet of
// models::unet_presets::demo, the linear schedule with epsilon prediction, AdamW at a high rate with a short
// warm-up and a short EMA (the run is a few hundred steps). It learns only the frames that moved at least half
// way from their clip's first frame (min_motion): most frames of an onset..offset clip are near neutral and
// carry no class. Generation by stochastic DDIM (eta 1, trailing spacing) without guidance: after a few hundred
// steps guidance 2-5 made the classes no easier to learn than the plain conditional network, at twice the cost.
// docs/generator_recipes.md has the measurements (the CAS of the generated images on held-out subjects).
inline preset demo(std::int64_t classes) {
  preset p{"demo", models::unet_presets::demo(classes), {}, {}, {}};
  p.trainer.batch = 32;
  p.trainer.steps = 700;
  p.trainer.lr = 2e-3;
  p.trainer.warmup_steps = 100;
  p.trainer.ema_decay = 0.995;
  p.trainer.label_dropout = 0.1;
  p.trainer.min_motion = 0.5;
  p.sampler.kind = sampler_kind::ddim;
  p.sampler.steps = 25;
  p.sampler.eta = 1.0;  // stochastic: robust for a network trained for minutes (see train_options)
  p.sampler.guidance.scale = 1.0;
  return p;
}

// The study's 48x48 frames with DDPM's network shape (models::unet_presets::study), linear schedule,
// epsilon prediction, AdamW 2e-4 with warm-up, EMA 0.9999, label dropout 0.1; DDIM with 50 steps to
// generate. Hours on a CPU; the GPU backend's setting.
inline preset study(std::int64_t classes) {
  preset p{"study", models::unet_presets::study(classes), {}, {}, {}};
  p.trainer.batch = 64;
  p.trainer.steps = 100000;
  p.trainer.lr = 2e-4;
  p.trainer.warmup_steps = 1000;
  p.trainer.ema_decay = 0.9999;
  p.sampler.steps = 50;
  p.sampler.eta = 1.0;
  return p;
}

inline preset by_name(std::string_view name, std::int64_t classes) {
  if (name == "demo") return demo(classes);
  if (name == "study") return study(classes);
  fail("unknown preset '", name, "' (known: demo, study)");
}

}  // namespace presets
}  // namespace diffusion
FERGEN_END_NAMESPACE
