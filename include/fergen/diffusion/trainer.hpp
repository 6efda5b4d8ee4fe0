// fergen/diffusion/trainer.hpp: training a denoiser: one optimisation step per batch (random timesteps,
// noise, label dropout, weighted loss, clipping, Adam/AdamW with warm-up, EMA), and exact checkpoints.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/diffusion_steps.hpp>
#include <fergen/backend/diffusion_steps.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/key_value.hpp>
#include <fergen/core/npz.hpp>
#include <fergen/core/rng.hpp>
#include <fergen/core/tensor.hpp>
#include <fergen/diffusion/checkpoint.hpp>
#include <fergen/diffusion/config.hpp>
#include <fergen/diffusion/loss_weighting.hpp>
#include <fergen/diffusion/noise_schedule.hpp>
#include <fergen/diffusion/parameterization.hpp>
#include <fergen/models/denoiser.hpp>
#include <fergen/nn/losses.hpp>
#include <fergen/nn/parameters.hpp>
#include <fergen/nn/state_dict.hpp>
#include <fergen/optim/adam.hpp>
#include <fergen/optim/clip_grad_norm.hpp>
#include <fergen/optim/ema.hpp>
#include <fergen/optim/lr_schedule.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

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

  // Writes the whole state atomically: a crash during the write leaves the previous checkpoint intact.
  void save(const std::filesystem::path& file) {
    using T = typename backend::value_type;
    npz_archive a = nn::state_dict(*model_);
    npz_archive out;
    for (auto& [k, v] : a) out.emplace("model." + k, std::move(v));
    auto put_tensor = [&](const std::string& key, const tensor_type& t) {
      std::vector<T> values(static_cast<std::size_t>(t.size()));
      t.copy_to(values);
      const shape s = t.shape();
      out.emplace(key, make_npy(values, {s.n, s.c, s.h, s.w}));
    };
    auto put_integer = [&](const std::string& key, std::int64_t v) {
      out.emplace(key, make_npy(std::vector<std::int64_t>{v}, {1}));
    };
    // EMA averages in the parameters' own (PyTorch) shapes, so "ema.*" loads into a network as weights.
    nn::for_each_parameter(*model_, [&](std::string_view name, nn::parameter<backend>& p) {
      const tensor_type* avg = ema_.average(name);
      std::vector<T> values(static_cast<std::size_t>(avg->size()));
      avg->copy_to(values);
      out.emplace("ema." + std::string(name), make_npy(values, p.dims.extents));
    });
    put_integer("meta.ema_updates", ema_.updates());
    optimizer_.visit_state([&](const std::string& name, auto& item) {
      if constexpr (std::is_same_v<std::remove_cvref_t<decltype(item)>, std::int64_t>) {
        put_integer(name == "steps" ? "meta.optim_steps" : "optim." + name, item);
      } else {
        put_tensor("optim." + name, item);
      }
    });
    out.emplace("meta.format", detail::text_array(checkpoint_format));
    out.emplace("meta.model_type", detail::text_array(model_type_name()));
    out.emplace("meta.model", detail::text_array(key_value_text(model_->config().entries())));
    out.emplace("meta.process", detail::text_array(key_value_text(process_.entries())));
    out.emplace("meta.trainer", detail::text_array(key_value_text(options_.entries())));
    std::string classes;
    for (std::size_t i = 0; i < class_names_.size(); ++i) classes += (i ? "\n" : "") + class_names_[i];
    out.emplace("meta.classes", detail::text_array(classes));
    out.emplace("meta.step", make_npy(std::vector<std::uint64_t>{static_cast<std::uint64_t>(step_)}, {1}));
    const generator::state r = rng_.save();
    out.emplace("meta.rng", make_npy(std::vector<std::uint64_t>{r.seed, r.streams_taken, r.words_used}, {3}));
    std::error_code ec;
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
    write_npz(file, out);
  }

  // Restores a checkpoint written by save() for the same network and process; anything else is an error
  // listing the differences, raised before any state changes.
  void load(const std::filesystem::path& given) {
    const checkpoint c = read_checkpoint(given);
    c.require_fits(model_type_name(), model_->config().entries(), process_);
    require(c.class_names.size() == class_names_.size() || class_names_.empty(), c.origin, ": the checkpoint has ",
            c.class_names.size(), " classes, this run ", class_names_.size());
    if (!class_names_.empty() && c.class_names != class_names_) {
      std::string a, b;
      for (const auto& s : c.class_names) a += (a.empty() ? "" : ", ") + s;
      for (const auto& s : class_names_) b += (b.empty() ? "" : ", ") + s;
      fail(c.origin, ": the checkpoint's classes (", a, ") are not this run's (", b, ")");
    }
    // Everything is checked (strictly, by name and shape) before anything is assigned.
    Model staged = *model_;
    nn::load_state_dict(staged, c.section("model"), c.origin + " (weights)");
    Model averaged = *model_;
    nn::load_state_dict(averaged, c.section("ema"), c.origin + " (averaged weights)");
    // A fresh optimiser: copies of one share their state tensors (tensor copies share storage).
    optim::adam<backend> opt(optimizer_.options());
    opt.create_state(staged);
    const npz_archive optim_arrays = c.section("optim");
    auto integer = [&](const std::string& key) {
      const auto it = c.arrays.find(key);
      require(it != c.arrays.end(), c.origin, ": checkpoint has no '", key, "'");
      return it->second.values<std::int64_t>().at(0);
    };
    opt.visit_state([&](const std::string& name, auto& item) {
      if constexpr (std::is_same_v<std::remove_cvref_t<decltype(item)>, std::int64_t>) {
        item = name == "steps" ? integer("meta.optim_steps") : integer("optim." + name);
      } else {
        const auto it = optim_arrays.find(name);
        require(it != optim_arrays.end(), c.origin, ": checkpoint has no optimiser state 'optim.", name, "'");
        const auto values = it->second.values<typename backend::value_type>();
        require(static_cast<std::int64_t>(values.size()) == item.size(), c.origin, ": optimiser state 'optim.", name,
                "' holds ", values.size(), " values, the parameter ", item.size());
        item.copy_from(values);
      }
    });
    optim::ema<backend> e(averaged, options_.ema_decay, options_.ema_warmup);
    e.visit_state([&](const std::string&, auto& item) {
      if constexpr (std::is_same_v<std::remove_cvref_t<decltype(item)>, std::int64_t>) item = integer("meta.ema_updates");
    });
    *model_ = std::move(staged);
    optimizer_ = std::move(opt);
    ema_ = std::move(e);
    step_ = c.step;
    rng_.restore(c.rng);
    if (class_names_.empty()) class_names_ = c.class_names;
  }

 private:
  static std::string model_type_name() { return std::string(Model::model_type); }

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
