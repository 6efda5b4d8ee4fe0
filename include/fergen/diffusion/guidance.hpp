// fergen/diffusion/guidance.hpp: classifier-free guidance (Ho & Salimans 2022) at sampling time.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/diffusion_steps.hpp>
#include <fergen/backend/diffusion_steps.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/tensor.hpp>

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

// The network sees every label replaced by the null label with some probability during training (label
// dropout: diffusion/trainer.hpp), so it learns the conditional and the unconditional prediction at once.
// At sampling, with scale w:
//   output = uncond + w (cond - uncond)
// w = 1 is the plain conditional model (one network pass per step); w = 0 the unconditional one; w > 1
// strengthens the class at the cost of diversity. Any w other than 1 needs the null class.
struct guidance {
  double scale = 1.0;

  bool active() const { return scale != 1.0; }

  template <class Model>
  void check(const Model& model) const {
    require(std::isfinite(scale) && scale >= 0, "guidance: scale ", scale, " must be a finite value >= 0");
    if (!active()) return;
    require(model.class_count() > 0, "guidance: scale ", scale,
            " needs a class-conditional network; this one is unconditional (use guidance 1)");
    require(model.null_label() >= 0, "guidance: scale ", scale,
            " needs a network with a null class (classifier-free guidance); this one was built without one (use "
            "guidance 1)");
  }
};

// The network's output for x_t at `timesteps` with `labels`, guided: one pass when guidance is off, else a
// conditional and an unconditional pass combined on the device.
template <class Model>
tensor<typename Model::backend> guided_output(Model& model, context<typename Model::backend>& ctx,
                                              const tensor<typename Model::backend>& x_t,
                                              std::span<const double> timesteps, std::span<const std::int64_t> labels,
                                              const guidance& g) {
  using B = typename Model::backend;
  tensor<B> cond = model.forward(ctx, x_t, timesteps, labels);
  if (!g.active()) return cond;
  g.check(model);
  const std::vector<std::int64_t> nulls(labels.size(), model.null_label());
  const tensor<B> uncond = model.forward(ctx, x_t, timesteps, nulls);
  const double a[1] = {1 - g.scale}, b[1] = {g.scale};
  return ops::diffusion_steps<B>::combine(ctx, uncond, a, cond, b);
}

}  // namespace diffusion
FERGEN_END_NAMESPACE
