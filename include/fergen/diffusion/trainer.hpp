// fergen/diffusion/trainer.hpp: training a denoiser: one optimisation step per batch (random timesteps,
// noise, label dropout, weighted loss, clipping, Adam/AdamW with warm-up, EMA). Its options are
// diffusion/trainer_options.hpp; its exact checkpoints, diffusion/checkpoint.hpp.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/diffusion_steps.hpp>
#include <fergen/backend/diffusion_steps.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/rng.hpp>
#include <fergen/core/tensor.hpp>
#include <fergen/diffusion/checkpoint.hpp>
#include <fergen/diffusion/config.hpp>
#include <fergen/diffusion/loss_weighting.hpp>
#include <fergen/diffusion/noise_schedule.hpp>
#include <fergen/diffusion/parameterization.hpp>
#include <fergen/diffusion/trainer_options.hpp>
#include <fergen/models/denoiser.hpp>
#include <fergen/nn/losses.hpp>
#include <fergen/nn/parameters.hpp>
#include <fergen/optim/adam.hpp>
#include <fergen/optim/clip_grad_norm.hpp>
#include <fergen/optim/ema.hpp>
#include <fergen/optim/lr_schedule.hpp>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

// Trains a conditional denoiser (models::conditional_denoiser) on batches of clean images in [-1, 1]. Each
// step draws, from the trainer's own generator (saved in checkpoints): a timestep per sample, whether its
// label is dropped to the null label, the noise, and the seed of the network's dropout. So a run resumed
// from a checkpoint continues exactly as if it had not stopped.
template <class Model>
  requires models::conditional_denoiser<Model>
class trainer {
 public:
  using backend = typename Model::backend;
  using tensor_type = tensor<backend>;

  trainer(Model& model, diffusion_config process, trainer_options options, std::vector<std::string> class_names = {})
      : model_(&model), process_(std::move(process)), options_(options), schedule_(process_.make_schedule()),
        optimizer_(optim::adam_options{.lr = options.lr, .beta1 = options.beta1, .beta2 = options.beta2,
                                       .weight_decay = options.weight_decay, .decoupled_weight_decay = options.adamw}),
        ema_(model, options.ema_decay, options.ema_warmup), class_names_(std::move(class_names)), rng_(options.seed) {
    options_.validate();
    require(options_.label_dropout == 0 || model.null_label() >= 0, "trainer: label_dropout = ", options_.label_dropout,
            " needs a network with a null class (", model.class_count() == 0 ? "this one is unconditional" : "this one has none",
            "); set label_dropout to 0");
    require(class_names_.empty() || static_cast<std::int64_t>(class_names_.size()) == model.class_count(), "trainer: ",
            class_names_.size(), " class names for a network of ", model.class_count(), " classes");
  }

  // One optimisation step on clean images x0 [N, C, H, W] in [-1, 1] with their labels (empty for an
  // unconditional network). Returns the (weighted) loss.
  double step(const tensor_type& x0, std::span<const std::int64_t> labels) {
    const std::int64_t n = x0.shape().n;
    require(n >= 1, "trainer: empty batch");
    require(model_->class_count() == 0 ? labels.empty() : static_cast<std::int64_t>(labels.size()) == n, "trainer: ",
            labels.size(), " labels for a batch of ", n);
    const auto count = static_cast<std::size_t>(n);
    std::vector<std::int64_t> t(count), y(labels.begin(), labels.end());
    std::vector<double> t_values(count), from_x0(count), from_noise(count), weights(count);
    std::vector<random_stream> streams(count);
    for (std::size_t i = 0; i < count; ++i) {
      t[i] = static_cast<std::int64_t>(rng_.below(static_cast<std::uint64_t>(schedule_.timesteps())));
      if (!y.empty() && options_.label_dropout > 0 && rng_.uniform() < options_.label_dropout) y[i] = model_->null_label();
      streams[i] = rng_.take();
      t_values[i] = static_cast<double>(t[i]);
      const target_form target = target_of(process_.prediction, schedule_.alpha_bar(t[i]));
      from_x0[i] = target.from_x0;
      from_noise[i] = target.from_noise;
      weights[i] = options_.weighting.weight(process_.prediction, schedule_.snr(t[i]));
    }
    const std::uint64_t dropout_seed = (std::uint64_t{rng_()} << 32) | rng_();
    context<backend> ctx = context<backend>::train(dropout_seed);
    using steps_op = ops::diffusion_steps<backend>;
    const tensor_type noise = steps_op::normal(ctx, x0.shape(), streams, 0);
    const tensor_type x_t = schedule_.q_sample(ctx, x0, noise, t);
    const tensor_type target = steps_op::combine(ctx, x0, from_x0, noise, from_noise);
    const tensor_type output = model_->forward(ctx, x_t, t_values, y);
    const bool uniform = options_.weighting.kind == loss_weighting_kind::uniform;
    auto loss = nn::mse(ctx, output, target, uniform ? std::span<const double>{} : std::span<const double>(weights));
    nn::zero_grad(*model_);
    model_->backward(ctx, loss.gradient);
    last_grad_norm_ = options_.grad_clip > 0 ? optim::clip_grad_norm(ctx, *model_, options_.grad_clip) : 0.0;
    optimizer_.set_lr(learning_rate(step_));
    optimizer_.step(ctx, *model_);
    ema_.update(ctx, *model_);
    ++step_;
    return loss.value;
  }

  // The learning rate of step k: linear warm-up, then constant.
  double learning_rate(std::int64_t k) const {
    if (options_.warmup_steps == 0) return options_.lr;
    return optim::linear_warmup<optim::constant_lr>{.warmup_steps = options_.warmup_steps}(k, options_.lr);
  }

  std::int64_t steps_done() const { return step_; }
  double last_grad_norm() const { return last_grad_norm_; }
  Model& model() { return *model_; }
  optim::ema<backend>& ema() { return ema_; }
  const noise_schedule& schedule() const { return schedule_; }
  const diffusion_config& process() const { return process_; }
  const trainer_options& options() const { return options_; }
  const std::vector<std::string>& class_names() const { return class_names_; }
  generator::state rng_state() const { return rng_.save(); }

  // A copy of the network holding the averaged weights: what to sample from.
  Model averaged_model() const {
    Model copy = *model_;
    ema_.copy_to(copy);
    return copy;
  }

  // The whole state to a checkpoint and back (diffusion/checkpoint.hpp): written atomically; restored only
  // from a checkpoint of the same network and process, checked before any state changes.
  void save(const std::filesystem::path& file) { save_checkpoint(file, state()); }
  void load(const std::filesystem::path& given) { load_checkpoint(given, state()); }

 private:
  // What a checkpoint holds of this run, by reference.
  training_state<Model> state() { return {*model_, optimizer_, ema_, process_, options_, class_names_, step_, rng_}; }

  Model* model_;
  diffusion_config process_;
  trainer_options options_;
  noise_schedule schedule_;
  optim::adam<backend> optimizer_;
  optim::ema<backend> ema_;
  std::vector<std::string> class_names_;
  generator rng_;
  std::int64_t step_ = 0;
  double last_grad_norm_ = 0;
};

}  // namespace diffusion
FERGEN_END_NAMESPACE
