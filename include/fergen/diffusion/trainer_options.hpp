// fergen/diffusion/trainer_options.hpp: how a diffusion model is optimised (batch, Adam/AdamW, warm-up, clipping,
// EMA, label dropout, loss weighting, seed), what values they may take, and their key=value text, which
// checkpoints store so that a resumed run trains with the options it started with.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/key_value.hpp>
#include <fergen/diffusion/loss_weighting.hpp>
#include <fergen/optim/adam.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

// The optimisation of a diffusion model. Defaults follow DDPM / improved DDPM, adapted to short CPU runs
// (EMA warm-up, a moderate decay).
struct trainer_options {
  std::int64_t batch = 32;
  std::int64_t steps = 10000;          // the run's length: for progress and ETA; training may go past it
  bool adamw = true;                   // decoupled weight decay (AdamW); false: Adam
  double lr = 2e-4;
  double weight_decay = 0.0;
  double beta1 = 0.9;
  double beta2 = 0.999;
  std::int64_t warmup_steps = 500;     // linear warm-up of the learning rate, then constant (DDPM: 5000)
  double grad_clip = 1.0;              // maximum gradient norm; 0 turns clipping off
  double ema_decay = 0.9999;
  bool ema_warmup = true;              // decay min(ema_decay, (1 + k) / (10 + k)) at update k
  double label_dropout = 0.1;          // probability of training a sample as unconditional (the null label)
  double min_motion = 0.0;             // learn the frames that moved at least this part of the way from their
                                       // clip's first frame (data/clip_motion.hpp; diffusion::train applies it);
                                       // 0: every frame
  loss_weighting weighting{};
  std::uint64_t seed = 0;

  void validate() const {
    require(batch >= 1, "trainer: batch = ", batch, " must be at least 1");
    require(steps >= 1, "trainer: steps = ", steps, " must be at least 1");
    require(std::isfinite(lr) && lr > 0, "trainer: lr = ", lr, " must be a finite value > 0");
    require(warmup_steps >= 0, "trainer: warmup_steps = ", warmup_steps, " is negative");
    require(std::isfinite(grad_clip) && grad_clip >= 0, "trainer: grad_clip = ", grad_clip, " must be >= 0 (0: off)");
    require(ema_decay >= 0 && ema_decay <= 1, "trainer: ema_decay = ", ema_decay, " is outside [0, 1]");
    require(label_dropout >= 0 && label_dropout < 1, "trainer: label_dropout = ", label_dropout, " is outside [0, 1)");
    require(min_motion >= 0 && min_motion <= 1, "trainer: min_motion = ", min_motion,
            " is outside [0, 1] (the part of the way from a clip's first frame to its farthest)");
    optim::adam_options{.lr = lr, .beta1 = beta1, .beta2 = beta2, .weight_decay = weight_decay}.validate();
    weighting.validate();
  }

  // Its key=value entries (core/key_value.hpp): every double reads back exactly, so a resumed run trains with
  // the very options it started with.
  key_value_list entries() const {
    return key_value_writer{}
        .add("batch", batch)
        .add("steps", steps)
        .add("optimizer", adamw ? "adamw" : "adam")
        .add("lr", lr)
        .add("weight_decay", weight_decay)
        .add("beta1", beta1)
        .add("beta2", beta2)
        .add("warmup_steps", warmup_steps)
        .add("grad_clip", grad_clip)
        .add("ema_decay", ema_decay)
        .add("ema_warmup", ema_warmup)
        .add("label_dropout", label_dropout)
        .add("min_motion", min_motion)
        .add("weighting", name_of(weighting.kind))
        .add("snr_gamma", weighting.gamma)
        .add("seed", seed)
        .entries();
  }

  // Options as a checkpoint stored them; keys it lacks (written before they existed) keep their defaults.
  static trainer_options from_entries(const key_value_map& e, std::string_view origin) {
    const key_value_reader r(e, std::string(origin), "trainer option");
    trainer_options o;
    r.read("batch", o.batch);
    r.read("steps", o.steps);
    if (r.has("optimizer")) {
      const std::string& name = r.text("optimizer");
      require(name == "adam" || name == "adamw", origin, ": unknown optimizer '", name, "' (known: adam, adamw)");
      o.adamw = name == "adamw";
    }
    r.read("lr", o.lr);
    r.read("weight_decay", o.weight_decay);
    r.read("beta1", o.beta1);
    r.read("beta2", o.beta2);
    r.read("warmup_steps", o.warmup_steps);
    r.read("grad_clip", o.grad_clip);
    r.read("ema_decay", o.ema_decay);
    r.read("ema_warmup", o.ema_warmup);
    r.read("label_dropout", o.label_dropout);
    r.read("min_motion", o.min_motion);
    if (r.has("weighting")) o.weighting.kind = loss_weighting_from_name(r.text("weighting"));
    r.read("snr_gamma", o.weighting.gamma);
    r.read("seed", o.seed);
    o.validate();
    return o;
  }
};

}  // namespace diffusion
FERGEN_END_NAMESPACE
