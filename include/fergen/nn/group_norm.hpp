// fergen/nn/group_norm.hpp: group normalisation (torch.nn.GroupNorm), the DDPM UNet's normalisation.
#pragma once

#include <fergen/backend/cpu/group_norm.hpp>
#include <fergen/backend/group_norm.hpp>
#include <fergen/nn/layer.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

FERGEN_BEGIN_NAMESPACE
namespace nn {

struct group_norm_options {
  double eps = 1e-5;
  bool affine = true;
};

// Normalises each sample's channels in `groups` groups of C/G, over (C/G, H, W), then applies a per-channel
// affine map. Independent of the batch, so training and evaluation compute the same thing and there are
// no running statistics. Parameters "weight" (C,) = 1 and "bias" (C,) = 0 when affine.
template <class B>
class group_norm {
 public:
  using backend = B;
  using tensor_type = tensor<B>;
  using value_type = typename B::value_type;

  group_norm(std::int64_t groups, std::int64_t channels, group_norm_options options = {})
      : groups_(groups), channels_(channels), options_(options) {
    require(groups > 0 && channels > 0, "group_norm: groups and channels must be positive, got ", groups,
            " groups of ", channels, " channels");
    require(channels % groups == 0, "group_norm: ", channels, " channels do not divide into ", groups, " groups");
    require(std::isfinite(options.eps) && options.eps >= 0, describe(), ": eps must be finite and non-negative, got ",
            options.eps);
    if (options.affine) {
      // Filled now as well as by rule, so a layer works before nn::initialize runs.
      weight_.emplace(dims{channels}, init_rule::constant(1));
      weight_->value = tensor_type::full(weight_->dims.storage(), value_type(1));
      bias_.emplace(dims{channels}, init_rule::constant(0));
    }
  }

  shape output_shape(const shape& x) const {
    require(x.c == channels_, describe(), ": input ", x, " has ", x.c, " channels, expected ", channels_);
    return x;
  }

  tensor_type forward(context<B>& ctx, const tensor_type& x) {
    output_shape(x.shape());
    auto r = ops::group_norm<B>::forward(ctx, x, groups_, weight_ ? &weight_->value : nullptr,
                                         bias_ ? &bias_->value : nullptr, options_.eps);
    if (ctx.record) {
      saved_ = saved{x, std::move(r.mean), std::move(r.invstd)};
    } else {
      saved_.reset();
    }
    return std::move(r.y);
  }

  tensor_type backward(context<B>& ctx, const tensor_type& dy) {
    require(saved_.has_value(), describe(), ": backward without a recorded forward (run forward with ctx.record)");
    require(dy.shape() == saved_->input.shape(), describe(), ": gradient ", dy.shape(), " does not match the output ",
            saved_->input.shape());
    tensor_type dx = ops::group_norm<B>::backward(ctx, dy, saved_->input, groups_, weight_ ? &weight_->value : nullptr,
                                                  saved_->mean, saved_->invstd,
                                                  weight_ ? weight_->grad_or_null() : nullptr,
                                                  bias_ ? bias_->grad_or_null() : nullptr);
    saved_.reset();
    return dx;
  }

  template <class V>
  void visit_parameters(V&& visit) {
    if (weight_) visit("weight", *weight_);
    if (bias_) visit("bias", *bias_);
  }

  parameter<B>* weight() { return weight_ ? &*weight_ : nullptr; }
  parameter<B>* bias() { return bias_ ? &*bias_ : nullptr; }
  std::int64_t groups() const { return groups_; }
  std::int64_t channels() const { return channels_; }
  const group_norm_options& options() const { return options_; }

  std::string describe() const { return str("group_norm(", groups_, ", ", channels_, ")"); }

 private:
  struct saved {
    tensor_type input;
    tensor_type mean;
    tensor_type invstd;
  };

  std::int64_t groups_;
  std::int64_t channels_;
  group_norm_options options_;
  std::optional<parameter<B>> weight_;
  std::optional<parameter<B>> bias_;
  std::optional<saved> saved_;
};

}  // namespace nn
FERGEN_END_NAMESPACE
