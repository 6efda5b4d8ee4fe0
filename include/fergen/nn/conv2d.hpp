// fergen/nn/conv2d.hpp: the 2-D convolution layer (torch.nn.Conv2d without groups).
#pragma once

#include <fergen/backend/conv2d.hpp>
#include <fergen/backend/conv2d_fused.hpp>
#include <fergen/backend/cpu/conv2d.hpp>
#include <fergen/backend/cpu/conv2d_fused.hpp>
#include <fergen/nn/layer.hpp>

#include <cmath>
#include <optional>

FERGEN_BEGIN_NAMESPACE
namespace nn {

struct conv2d_options {
  size2 kernel = 1;
  size2 stride = 1;
  size2 padding = 0;
  size2 dilation = 1;
  bool bias = true;
};

// y = weight * x + bias. Parameters "weight" (out, in, kh, kw) and "bias" (out,), initialised as PyTorch
// does: uniform in +-1/sqrt(fan_in) (kaiming_uniform with a = sqrt(5)).
template <class B>
class conv2d {
 public:
  using backend = B;
  using tensor_type = tensor<B>;

  conv2d(std::int64_t in_channels, std::int64_t out_channels, conv2d_options options = {})
      : in_channels_(in_channels), out_channels_(out_channels),
        geometry_{options.kernel.h, options.kernel.w, options.stride.h, options.stride.w, options.padding.h,
                  options.padding.w, options.dilation.h, options.dilation.w} {
    require(in_channels > 0 && out_channels > 0, "conv2d: channels must be positive, got ", in_channels, " -> ",
            out_channels);
    geometry_.validate();
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_channels * options.kernel.h * options.kernel.w));
    weight_ = parameter<B>({out_channels, in_channels, options.kernel.h, options.kernel.w},
                           init_rule::uniform(-bound, bound));
    if (options.bias) bias_.emplace(dims{out_channels}, init_rule::uniform(-bound, bound));
  }

  shape output_shape(const shape& x) const {
    require(x.c == in_channels_, describe(), ": input ", x, " has ", x.c, " channels, expected ", in_channels_);
    return geometry_.output(x, out_channels_);
  }

  tensor_type forward(context<B>& ctx, const tensor_type& x) {
    output_shape(x.shape());
    tensor_type y = ops::conv2d<B>::forward(ctx, x, weight_.value, bias_ ? &bias_->value : nullptr, geometry_);
    input_ = ctx.record ? std::optional<tensor_type>(x) : std::nullopt;
    return y;
  }

  // This convolution and what follows it in inference as one op (nn/inference_fusion.hpp); keeps nothing.
  tensor_type forward_fused(context<B>& ctx, const tensor_type& x, const ops::conv2d_epilogue<B>& after) {
    output_shape(x.shape());
    input_.reset();
    return ops::conv2d_fused<B>::forward(ctx, x, weight_.value, bias_ ? &bias_->value : nullptr, geometry_, after);
  }

  tensor_type backward(context<B>& ctx, const tensor_type& dy) {
    require(input_.has_value(), describe(), ": backward without a recorded forward (run forward with ctx.record)");
    ops::conv2d<B>::backward_weight(ctx, dy, *input_, geometry_, weight_.grad_or_null(),
                                    bias_ ? bias_->grad_or_null() : nullptr);
    tensor_type dx = ops::conv2d<B>::backward_data(ctx, dy, weight_.value, input_->shape(), geometry_);
    input_.reset();
    return dx;
  }

  template <class V>
  void visit_parameters(V&& visit) {
    visit("weight", weight_);
    if (bias_) visit("bias", *bias_);
  }

  parameter<B>& weight() { return weight_; }
  parameter<B>* bias() { return bias_ ? &*bias_ : nullptr; }
  const ops::conv2d_geometry& geometry() const { return geometry_; }
  std::int64_t in_channels() const { return in_channels_; }
  std::int64_t out_channels() const { return out_channels_; }

  std::string describe() const {
    return str("conv2d(", in_channels_, "->", out_channels_, ", ", geometry_.kernel_h, "x", geometry_.kernel_w,
               ", stride ", geometry_.stride_h, "x", geometry_.stride_w, ")");
  }

 private:
  std::int64_t in_channels_;
  std::int64_t out_channels_;
  ops::conv2d_geometry geometry_;
  parameter<B> weight_;
  std::optional<parameter<B>> bias_;
  std::optional<tensor_type> input_;
};

}  // namespace nn
FERGEN_END_NAMESPACE
