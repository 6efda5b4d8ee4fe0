// fergen/eval/train_classifier.hpp: training a backbone classifier on a dataset, as the study does, with
// validation, a per-epoch history, progress lines and checkpoints.
#pragma once

#include <fergen/backend/arithmetic.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/arithmetic.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/npz.hpp>
#include <fergen/core/rng.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/dataset_view.hpp>
#include <fergen/eval/classifier_input.hpp>
#include <fergen/eval/predict.hpp>
#include <fergen/nn/freeze.hpp>
#include <fergen/nn/losses.hpp>
#include <fergen/nn/parameters.hpp>
#include <fergen/nn/state_dict.hpp>
#include <fergen/optim/adam.hpp>
#include <fergen/optim/clip_grad_norm.hpp>
#include <fergen/optim/lr_schedule.hpp>
#include <fergen/optim/sgd.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace eval {

enum class optimizer_kind { sgd, adam };
enum class lr_decay { constant, cosine, step };

inline optimizer_kind parse_optimizer(std::string_view text) {
  if (text == "sgd") return optimizer_kind::sgd;
  if (text == "adam") return optimizer_kind::adam;
  fail("optimizer '", text, "' is not one of: sgd, adam");
}
inline lr_decay parse_lr_decay(std::string_view text) {
  if (text == "constant") return lr_decay::constant;
  if (text == "cosine") return lr_decay::cosine;
  if (text == "step") return lr_decay::step;
  fail("lr schedule '", text, "' is not one of: constant, cosine, step");
}

// One epoch, for the history the study plots. Validation fields are NaN without a validation set.
struct epoch_record {
  std::int64_t epoch = 0;  // 1-based
  double train_loss = 0, train_accuracy = 0;
  double val_loss = std::numeric_limits<double>::quiet_NaN();
  double val_accuracy = std::numeric_limits<double>::quiet_NaN();
  double lr = 0;           // at the epoch's last step
  double seconds = 0;      // training and validation
  double images_per_second = 0;  // training only
};

struct train_options {
  std::int64_t epochs = 10;
  std::int64_t batch_size = 32;
  std::int64_t image_size = 0;  // resize on load (the study: 160); 0 keeps the dataset's size
  augmentation policy = augmentation::none;

  optimizer_kind optimizer = optimizer_kind::sgd;
  double lr = 0.01;
  double momentum = 0.9;         // SGD
  bool nesterov = false;         // SGD
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam
  double weight_decay = 0;       // SGD, Adam: L2 added to the gradient
  lr_decay schedule = lr_decay::constant;
  double warmup_epochs = 0;      // linear warm-up over this many epochs (fractions allowed), then the schedule
  double min_lr = 0;             // cosine's floor
  std::int64_t step_epochs = 0;  // step: multiply by gamma every step_epochs epochs
  double gamma = 0.1;
  double label_smoothing = 0;
  double clip_grad_norm = 0;     // 0: no clipping
  double aux_weight = 0.4;       // Inception-V3's auxiliary loss weight, when it has the head

  double freeze_fraction = 0;    // > 0: freeze the first fraction of the learnable layers (the study: 0.3)
  std::uint64_t seed = 0;        // shuffling, augmentation and dropout: same seed and threads, same run
  std::int64_t workers = 2;      // batch loader threads

  std::FILE* progress = stderr;  // progress lines; nullptr: silent
  std::int64_t progress_every = 0;  // steps between progress lines; 0: about ten per epoch
  std::filesystem::path checkpoint_dir{};  // best.npz, last.npz and history.csv after each epoch; empty: none
  std::function<void(const epoch_record&)> on_epoch{};  // called after each epoch (a study's log)

  void validate() const {
    require(epochs >= 1, "train_classifier: epochs ", epochs, " must be >= 1");
    require(batch_size >= 1, "train_classifier: batch_size ", batch_size, " must be >= 1");
    require(image_size >= 0, "train_classifier: image_size ", image_size, " must be >= 0");
    require(std::isfinite(lr) && lr > 0, "train_classifier: lr ", lr, " must be positive");
    require(warmup_epochs >= 0 && warmup_epochs <= static_cast<double>(epochs), "train_classifier: warmup_epochs ",
            warmup_epochs, " must lie in [0, epochs]");
    require(schedule != lr_decay::step || step_epochs >= 1, "train_classifier: the step schedule needs step_epochs >= 1");
    require(freeze_fraction >= 0 && freeze_fraction < 1, "train_classifier: freeze_fraction ", freeze_fraction,
            " must lie in [0, 1)");
    require(aux_weight >= 0, "train_classifier: aux_weight ", aux_weight, " must be >= 0");
    require(progress_every >= 0, "train_classifier: progress_every ", progress_every, " must be >= 0");
  }
};

struct train_result {
  std::vector<epoch_record> history;
  std::int64_t best_epoch = 0;   // by validation accuracy (training accuracy without a validation set)
  double best_accuracy = 0;
  std::int64_t frozen_layers = 0;
  std::int64_t steps = 0;
  double seconds = 0;
};

inline void write_history_csv(const std::filesystem::path& file, const std::vector<epoch_record>& history) {
  std::ofstream out(file);
  require(out.good(), file.string(), ": cannot open for writing");
  out << "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds,images_per_second\n";
  for (const auto& e : history) {
    char line[256];
    std::snprintf(line, sizeof line, "%lld,%.6f,%.6f,%.6f,%.6f,%.6g,%.3f,%.1f\n", static_cast<long long>(e.epoch),
                  e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy, e.lr, e.seconds, e.images_per_second);
    out << line;
  }
  require(out.good(), file.string(), ": write failed");
}

namespace detail {

inline std::string duration_text(double seconds) {
  const auto s = static_cast<long long>(std::llround(std::max(0.0, seconds)));
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%lldh%02lldm", s / 3600, s / 60 % 60);
  } else if (s >= 60) {
    std::snprintf(text, sizeof text, "%lldm%02llds", s / 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%llds", s);
  }
  return text;
}

// The learning rate of each step: linear warm-up, then constant, cosine or step decay, torch's closed forms.
inline std::function<double(std::int64_t)> make_schedule(const train_options& o, std::int64_t steps_per_epoch) {
  const std::int64_t total = o.epochs * steps_per_epoch;
  const auto warmup = static_cast<std::int64_t>(std::llround(o.warmup_epochs * static_cast<double>(steps_per_epoch)));
  std::function<double(std::int64_t, double)> decay;
  switch (o.schedule) {
    case lr_decay::constant: decay = optim::constant_lr{}; break;
    case lr_decay::cosine: decay = optim::cosine_lr{.total_steps = std::max<std::int64_t>(1, total - warmup), .min_lr = o.min_lr}; break;
    case lr_decay::step: decay = optim::step_lr{.step_size = o.step_epochs * steps_per_epoch, .gamma = o.gamma}; break;
  }
  return [=](std::int64_t step) {
    if (warmup > 0 && step < warmup) return o.lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
    return decay(step - warmup, o.lr);
  };
}

// The seed of step k's in-network randomness (dropout), a pure function of (seed, step).
inline std::uint64_t step_seed(std::uint64_t seed, std::int64_t step) {
  const philox_block b = random_stream{seed, 0x7261696eULL}.block(static_cast<std::uint64_t>(step));
  return (std::uint64_t{b.v[0]} << 32) | b.v[1];
}

}  // namespace detail

// Trains net (initialised or pretrained by the caller) on `train`, validating on `validation` (may be null)
// after every epoch. Each step: a shuffled batch (resized on load, rescaled by 1/255, the chosen
// augmentation), ImageNet normalisation for a 3-channel network, cross-entropy (plus aux_weight times the
// auxiliary head's, for an Inception-V3 built with it), backward, optional clipping, the optimiser at the
// schedule's rate. BatchNorm runs in training mode, also in frozen layers (PyTorch's behaviour; Keras would
// run frozen BatchNorms in inference mode). The first layer skips its input's gradient. Same seed and same
// number of threads, same result.
template <class Net>
train_result train_classifier(Net& net, const data::dataset_view& train, const data::dataset* validation,
                              const train_options& o) {
  using B = typename Net::backend;
  o.validate();
  require(!train.empty(), "train_classifier: the training set is empty");
  require(train.class_count() <= net.num_classes(), "train_classifier: the training set has ", train.class_count(),
          " classes, the network ", net.name(), " only ", net.num_classes(),
          " (build it with num_classes = ", train.class_count(), ")");
  if (validation) require(validation->class_names() == train.class_names(),
                          "train_classifier: the validation set's classes differ from the training set's");
  const auto clock_start = std::chrono::steady_clock::now();
  const auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };

  train_result result;
  if (o.freeze_fraction > 0) {
    nn::unfreeze_all(net);
    result.frozen_layers = nn::freeze_first_fraction(net, o.freeze_fraction);
  }
  net.set_input_gradient(false);

  batch_stream<B> stream(train, o.policy,
                         {.batch_size = o.batch_size, .image_size = o.image_size,
                          .channels = loader_channels(train, net.in_channels()), .shuffle = true,
                          .seed = o.seed, .workers = o.workers});
  const std::int64_t steps_per_epoch = stream.batches_per_epoch();
  const auto schedule = detail::make_schedule(o, steps_per_epoch);
  std::variant<optim::sgd<B>, optim::adam<B>> optimizer =
      o.optimizer == optimizer_kind::sgd
          ? std::variant<optim::sgd<B>, optim::adam<B>>(optim::sgd<B>(
                {.lr = o.lr, .momentum = o.momentum, .weight_decay = o.weight_decay, .nesterov = o.nesterov}))
          : std::variant<optim::sgd<B>, optim::adam<B>>(optim::adam<B>(
                {.lr = o.lr, .beta1 = o.beta1, .beta2 = o.beta2, .eps = o.eps, .weight_decay = o.weight_decay}));
  const std::int64_t every =
      o.progress_every > 0 ? o.progress_every : std::max<std::int64_t>(1, (steps_per_epoch + 9) / 10);
  if (!o.checkpoint_dir.empty()) std::filesystem::create_directories(o.checkpoint_dir);

  std::int64_t step = 0;
  double best = -1;
  for (std::int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    stream.start_epoch(epoch);
    double loss_sum = 0, lr = o.lr;
    std::int64_t seen = 0, correct = 0, batch_index = 0;
    while (auto batch = stream.next()) {
      // A last batch of one image cannot train BatchNorm where a map is 1x1 (ResNet's last stage on small
      // inputs; PyTorch raises the same error): that image sits this epoch out, as DataLoader(drop_last) would
      // drop it. The shuffle puts another image last in the next epoch.
      if (batch->labels.size() == 1 && stream.samples() > 1) continue;
      auto ctx = context<B>::train(detail::step_seed(o.seed, step));
      const tensor<B> x = network_input(ctx, batch->images, net.in_channels());
      nn::zero_grad(net);
      const tensor<B> logits = net.forward(ctx, x);
      const auto loss = nn::cross_entropy(ctx, logits, batch->labels, o.label_smoothing);
      double total = loss.value;
      if constexpr (requires { net.aux_logits(); }) {
        if (const tensor<B>* aux = net.aux_logits(); aux && o.aux_weight > 0) {
          const auto aux_loss = nn::cross_entropy(ctx, *aux, batch->labels, o.label_smoothing);
          total += o.aux_weight * aux_loss.value;
          net.set_aux_gradient(ops::arithmetic<B>::scale(ctx, aux_loss.gradient, static_cast<typename B::value_type>(o.aux_weight)));
        }
      }
      require(std::isfinite(total), "train_classifier: the loss became ", total, " at epoch ", epoch + 1, ", step ",
              batch_index + 1, " (lower the learning rate, or clip gradients)");
      net.backward(ctx, loss.gradient);
      if (o.clip_grad_norm > 0) optim::clip_grad_norm(ctx, net, o.clip_grad_norm);
      lr = schedule(step);
      std::visit([&](auto& opt) {
        opt.set_lr(lr);
        opt.step(ctx, net);
      }, optimizer);
      ++step;
      ++batch_index;

      const auto n = static_cast<std::int64_t>(batch->labels.size());
      std::vector<typename B::value_type> host(static_cast<std::size_t>(logits.size()));
      logits.copy_to(host);
      const auto k = static_cast<std::size_t>(logits.shape().c);
      for (std::size_t i = 0; i < batch->labels.size(); ++i) {
        const auto row = host.begin() + static_cast<std::ptrdiff_t>(i * k);
        correct += (std::max_element(row, row + static_cast<std::ptrdiff_t>(k)) - row) == batch->labels[i];
      }
      loss_sum += total * static_cast<double>(n);
      seen += n;
      if (o.progress && (batch_index % every == 0 || batch_index == steps_per_epoch)) {
        const double elapsed = since(epoch_start);
        const double rate = static_cast<double>(seen) / std::max(elapsed, 1e-9);
        const double left_this = static_cast<double>(steps_per_epoch - batch_index) * elapsed /
                                 static_cast<double>(batch_index);
        const double eta = left_this + static_cast<double>(o.epochs - epoch - 1) * elapsed *
                                           static_cast<double>(steps_per_epoch) / static_cast<double>(batch_index);
        std::fprintf(o.progress, "%s epoch %lld/%lld step %lld/%lld loss %.4f acc %.1f%% lr %.3g %.1f img/s ETA %s\n",
                     net.name().c_str(), static_cast<long long>(epoch + 1), static_cast<long long>(o.epochs),
                     static_cast<long long>(batch_index), static_cast<long long>(steps_per_epoch), loss_sum / static_cast<double>(seen),
                     100.0 * static_cast<double>(correct) / static_cast<double>(seen), lr, rate,
                     detail::duration_text(eta).c_str());
        std::fflush(o.progress);
      }
    }
    epoch_record record;
    record.epoch = epoch + 1;
    record.train_loss = loss_sum / static_cast<double>(seen);
    record.train_accuracy = static_cast<double>(correct) / static_cast<double>(seen);
    record.lr = lr;
    record.images_per_second = static_cast<double>(seen) / std::max(since(epoch_start), 1e-9);
    if (validation) {
      const prediction p = predict(net, *validation,
                                   {.batch_size = std::max<std::int64_t>(o.batch_size, 32), .image_size = o.image_size,
                                    .workers = o.workers});
      record.val_loss = p.loss;
      record.val_accuracy = p.metrics().accuracy;
    }
    record.seconds = since(epoch_start);
    result.history.push_back(record);
    const double score = validation ? record.val_accuracy : record.train_accuracy;
    const bool improved = score > best;
    if (improved) {
      best = score;
      result.best_epoch = record.epoch;
      result.best_accuracy = score;
    }
    if (!o.checkpoint_dir.empty()) {
      nn::save_weights(net, o.checkpoint_dir / "last.npz", npz_compression::stored);
      if (improved) nn::save_weights(net, o.checkpoint_dir / "best.npz", npz_compression::stored);
      write_history_csv(o.checkpoint_dir / "history.csv", result.history);
    }
    if (o.progress) {
      std::fprintf(o.progress, "%s epoch %lld/%lld done in %s: train loss %.4f acc %.2f%%", net.name().c_str(),
                   static_cast<long long>(record.epoch), static_cast<long long>(o.epochs),
                   detail::duration_text(record.seconds).c_str(), record.train_loss, 100 * record.train_accuracy);
      if (validation) std::fprintf(o.progress, ", val loss %.4f acc %.2f%%", record.val_loss, 100 * record.val_accuracy);
      std::fprintf(o.progress, "%s\n", improved ? " (best)" : "");
      std::fflush(o.progress);
    }
    if (o.on_epoch) o.on_epoch(record);
  }
  net.set_input_gradient(true);
  result.steps = step;
  result.seconds = since(clock_start);
  return result;
}

}  // namespace eval
FERGEN_END_NAMESPACE
