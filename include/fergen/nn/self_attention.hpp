// fergen/nn/self_attention.hpp: the DDPM UNet's self-attention block over the pixels of a feature map.
#pragma once

#include <fergen/backend/arithmetic.hpp>
#include <fergen/backend/attention.hpp>
#include <fergen/backend/cpu/arithmetic.hpp>
#include <fergen/backend/cpu/attention.hpp>
#include <fergen/nn/conv2d.hpp>
#include <fergen/nn/group_norm.hpp>
#include <fergen/nn/layer.hpp>
#include <fergen/nn/named.hpp>

#include <cstdint>
#include <optional>
#include <string>

FERGEN_BEGIN_NAMESPACE
namespace nn {

struct self_attention_options {
  std::int64_t heads = 1;
  std::int64_t groups = 32;  // of the group normalisation in front
  double eps = 1e-5;
};

// y = x + proj_out(attention(qkv(norm(x)))), guided-diffusion's AttentionBlock: a group normalisation, one
// 1x1 convolution to q, k and v (3C channels, in that order, see backend/attention.hpp), scaled dot-product
// attention among the H x W pixels in `heads` heads, a 1x1 output projection and the residual sum.
// Parameters "norm.weight", "norm.bias", "qkv.weight", "qkv.bias", "proj_out.weight", "proj_out.bias".
// A plain layer (one input). Attention costs (H W)^2 per channel: the UNet uses it on small maps only.
template <class B>
class self_attention {
 public:
  using backend = B;
  using tensor_type = tensor<B>;

  explicit self_attention(std::int64_t channels, self_attention_options options = {})
      : channels_(channels), heads_(options.heads),
        norm_(options.groups, channels, {.eps = options.eps}),
        qkv_(channels, 3 * channels, {.kernel = 1}),
        proj_out_(channels, channels, {.kernel = 1}) {
    require(options.heads > 0 && channels % options.heads == 0, describe(), ": ", channels,
            " channels do not divide into ", options.heads, " heads");
  }

  shape output_shape(const shape& x) const {
    require(x.c == channels_, describe(), ": input ", x, " has ", x.c, " channels, expected ", channels_);
    require(x.h > 0 && x.w > 0, describe(), ": input ", x, " has no pixels");
    return x;
  }

  tensor_type forward(context<B>& ctx, const tensor_type& x) {
    output_shape(x.shape());
    const tensor_type h = within(norm_, [&](auto& l) { return l.forward(ctx, x); });
    tensor_type qkv = within(qkv_, [&](auto& l) { return l.forward(ctx, h); });
    auto a = ops::attention<B>::forward(ctx, qkv, heads_, ctx.record);
    const tensor_type o = within(proj_out_, [&](auto& l) { return l.forward(ctx, a.y); });
    if (ctx.record) {
      saved_ = saved{std::move(qkv), std::move(a.weights)};
    } else {
      saved_.reset();
    }
    return ops::arithmetic<B>::add(ctx, x, o);
  }

  tensor_type backward(context<B>& ctx, const tensor_type& dy) {
    require(saved_.has_value(), describe(), ": backward without a recorded forward (run forward with ctx.record)");
    const tensor_type da = within(proj_out_, [&](auto& l) { return l.backward(ctx, dy); });
    const tensor_type dqkv = ops::attention<B>::backward(ctx, da, saved_->qkv, saved_->weights, heads_);
    saved_.reset();
    const tensor_type dh = within(qkv_, [&](auto& l) { return l.backward(ctx, dqkv); });
    tensor_type dx = within(norm_, [&](auto& l) { return l.backward(ctx, dh); });
    ops::arithmetic<B>::accumulate(ctx, dx, dy);
    return dx;
  }

  template <class V>
  void visit_parameters(V&& visit) {
    visit_children(visit, norm_, qkv_, proj_out_);
  }

  group_norm<B>& norm() { return norm_; }
  conv2d<B>& qkv() { return qkv_; }
  conv2d<B>& proj_out() { return proj_out_; }
  std::int64_t channels() const { return channels_; }
  std::int64_t heads() const { return heads_; }
  std::string describe() const { return str("self_attention(", channels_, ", ", heads_, " head", heads_ == 1 ? "" : "s", ")"); }

 private:
  struct saved {
    tensor_type qkv;
    tensor_type weights;
  };

  std::int64_t channels_;
  std::int64_t heads_;
  named<"norm", group_norm<B>> norm_;
  named<"qkv", conv2d<B>> qkv_;
  named<"proj_out", conv2d<B>> proj_out_;
  std::optional<saved> saved_;
};

}  // namespace nn
FERGEN_END_NAMESPACE
