// fergen/diffusion/presets.hpp: named, complete diffusion setups: network, process, training and sampling.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/diffusion/config.hpp>
#include <fergen/diffusion/names.hpp>
#include <fergen/diffusion/sampler.hpp>
#include <fergen/diffusion/trainer.hpp>
#include <fergen/models/unet.hpp>

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

// `fergen demo` on a 2-core CPU: about 3 minutes of training and under a minute of generation. 32x32 frames,
// the UNet of models::unet_presets::demo, the linear schedule with epsilon prediction, AdamW at a high rate
// with a short warm-up and a short EMA (the run is a few hundred steps); generation by stochastic DDIM
// (eta 1) with 25 steps from T - 1 (trailing spacing) and classifier-free guidance 3, which a briefly trained
// network needs to show its classes. The network learns the classes far sooner from frames near the apex
// than from whole onset..offset clips, whose frames are mostly near neutral (README, "Diffusion": samples
// of this preset and the commands that made them).
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
  p.sampler.guidance.scale = 2.0;
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
