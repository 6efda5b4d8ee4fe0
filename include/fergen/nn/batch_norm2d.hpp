// fergen/nn/batch_norm2d.hpp: batch normalisation over channels (torch.nn.BatchNorm2d).
#pragma once

#include <fergen/backend/batch_norm.hpp>
#include <fergen/backend/conv2d_fused.hpp>
#include <fergen/backend/cpu/batch_norm.hpp>
#include <fergen/nn/layer.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

FERGEN_BEGIN_NAMESPACE
namespace nn {

struct batch_norm_options {
  double eps = 1e-5;                     // ResNet and VGG-BN: 1e-5; Inception-V3: 1e-3
  std::optional<double> momentum = 0.1;  // PyTorch's convention (Keras' 0.99 is 0.01 here); nullopt: cumulative average
  bool affine = true;
  bool track_running_stats = true;
};

// y = (x - mean) / sqrt(var + eps) * weight + bias per channel, over [N, C, H, W] (a BatchNorm1d over
// features is the same on [N, C, 1, 1]). Training normalises with the batch statistics and updates the
// running ones; evaluation normalises with the running ones. Parameters "weight" (C,) = 1 and "bias"
// (C,) = 0 when affine; buffers "running_mean" (C,) = 0, "running_var" (C,) = 1 and "num_batches_tracked"
// () = 0 when tracking: torchvision's state_dict names, in its order.
template <class B>
class batch_norm2d {
 public:
  using backend = B;
  using tensor_type = tensor<B>;
  using value_type = typename B::value_type;

  explicit batch_norm2d(std::int64_t channels, batch_norm_options options = {})
      : channels_(channels), options_(options) {
    require(channels > 0, "batch_norm2d: channels must be positive, got ", channels);
    require(std::isfinite(options.eps) && options.eps >= 0, describe(), ": eps must be finite and non-negative, got ",
            options.eps);
    if (options.momentum)
      require(*options.momentum >= 0 && *options.momentum <= 1, describe(), ": momentum must lie in [0, 1], got ",
              *options.momentum, " (PyTorch's convention: the weight of the new batch)");
    if (options.affine) {
      weight_.emplace(dims{channels}, init_rule::constant(1));  // constant rules apply at construction
      bias_.emplace(dims{channels}, init_rule::constant(0));
    }
    if (options.track_running_stats) {
      running_mean_.emplace(dims{channels}, 0.0);
      running_var_.emplace(dims{channels}, 1.0);
      num_batches_tracked_.emplace(dims{}, 0.0, true);
      // With a set momentum the counter is only counted, never read: a file without it loads (as 0). With the
      // cumulative average (momentum = None) it divides every update, so a file must hold it.
      num_batches_tracked_->zero_when_absent = options.momentum.has_value();
    }
  }

  shape output_shape(const shape& x) const {
    require(x.c == channels_, describe(), ": input ", x, " has ", x.c, " channels, expected ", channels_);
    return x;
  }

  tensor_type forward(context<B>& ctx, const tensor_type& x) {
    const shape xs = x.shape();
    output_shape(xs);
    // As PyTorch: without running statistics there is nothing else to normalise with, even in evaluation.
    const bool batch_statistics = ctx.training || !options_.track_running_stats;
    const tensor_type* w = weight_ ? &weight_->value : nullptr;
    const tensor_type* b = bias_ ? &bias_->value : nullptr;
    std::optional<ops::batch_norm_result<B>> r;
    if (batch_statistics) {
      require(xs.n * xs.plane() > 1, describe(), ": expected more than 1 value per channel when training, input ",
              xs, " has ", xs.n * xs.plane());
      const bool update = ctx.training && options_.track_running_stats;
      const double batches = update ? batches_tracked() + 1 : 0;
      // The momentum, or 1 / batches seen for PyTorch's cumulative average (momentum = None).
      const double factor = !update ? 0.0 : options_.momentum ? *options_.momentum : 1.0 / batches;
      r.emplace(ops::batch_norm<B>::forward_training(ctx, x, w, b, options_.eps,
                                                     update ? &running_mean_->value : nullptr,
                                                     update ? &running_var_->value : nullptr, factor));
      // Counted only once the kernel accepted the batch: a rejected input leaves the layer as it was.
      if (update) set_batches_tracked(batches);
    } else {
      r.emplace(ops::batch_norm<B>::forward_inference(ctx, x, w, b, running_mean_->value, running_var_->value,
                                                      options_.eps));
    }
    if (ctx.record) {
      saved_ = saved{x, r->mean, r->invstd,
                     batch_statistics ? ops::batch_norm_statistics::batch : ops::batch_norm_statistics::running};
    } else {
      saved_.reset();
    }
    return std::move(r->y);
  }

  tensor_type backward(context<B>& ctx, const tensor_type& dy) {
    require(saved_.has_value(), describe(), ": backward without a recorded forward (run forward with ctx.record)");
    require(dy.shape() == saved_->input.shape(), describe(), ": gradient ", dy.shape(), " does not match the output ",
            saved_->input.shape());
    tensor_type dx = ops::batch_norm<B>::backward(ctx, dy, saved_->input, weight_ ? &weight_->value : nullptr,
                                                  saved_->mean, saved_->invstd, saved_->statistics,
                                                  weight_ ? weight_->grad_or_null() : nullptr,
                                                  bias_ ? bias_->grad_or_null() : nullptr);
    saved_.reset();
    return dx;
  }

  template <class V>
  void visit_parameters(V&& visit) {
    if (weight_) visit("weight", *weight_);
    if (bias_) visit("bias", *bias_);
    if (running_mean_) visit("running_mean", *running_mean_);
    if (running_var_) visit("running_var", *running_var_);
    if (num_batches_tracked_) visit("num_batches_tracked", *num_batches_tracked_);
  }

  // What this layer applies in evaluation, for a convolution before it to apply in the same op
  // (nn/inference_fusion.hpp); none where it normalises with batch statistics even then (no running statistics).
  std::optional<ops::running_normalization<B>> running_normalization() const {
    if (!options_.track_running_stats) return std::nullopt;
    return ops::running_normalization<B>{.weight = weight_ ? &weight_->value : nullptr,
                                         .bias = bias_ ? &bias_->value : nullptr,
                                         .mean = &running_mean_->value,
                                         .var = &running_var_->value,
                                         .eps = options_.eps};
  }

  parameter<B>* weight() { return weight_ ? &*weight_ : nullptr; }
  parameter<B>* bias() { return bias_ ? &*bias_ : nullptr; }
  buffer<B>* running_mean() { return running_mean_ ? &*running_mean_ : nullptr; }
  buffer<B>* running_var() { return running_var_ ? &*running_var_ : nullptr; }
  buffer<B>* num_batches_tracked() { return num_batches_tracked_ ? &*num_batches_tracked_ : nullptr; }
  std::int64_t channels() const { return channels_; }
  const batch_norm_options& options() const { return options_; }

  std::string describe() const { return str("batch_norm2d(", channels_, ")"); }

 private:
  // The counter lives in the buffer (it is saved and loaded with the weights) and goes through the
  // tensor's host transfer, which every backend offers. Stored in T like every buffer: a float counts
  // exactly up to 2^24 batches.
  double batches_tracked() const {
    std::array<value_type, 1> count{};
    num_batches_tracked_->value.copy_to(std::span<value_type>(count));
    return static_cast<double>(std::llround(static_cast<double>(count[0])));
  }
  void set_batches_tracked(double count) {
    const std::array<value_type, 1> value{static_cast<value_type>(count)};
    num_batches_tracked_->value.copy_from(std::span<const value_type>(value));
  }

  struct saved {
    tensor_type input;
    tensor_type mean;
    tensor_type invstd;
    ops::batch_norm_statistics statistics;
  };

  std::int64_t channels_;
  batch_norm_options options_;
  std::optional<parameter<B>> weight_;
  std::optional<parameter<B>> bias_;
  std::optional<buffer<B>> running_mean_;
  std::optional<buffer<B>> running_var_;
  std::optional<buffer<B>> num_batches_tracked_;
  std::optional<saved> saved_;
};

}  // namespace nn
FERGEN_END_NAMESPACE
