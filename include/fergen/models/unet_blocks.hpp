// fergen/models/unet_blocks.hpp: the blocks of the DDPM UNet: the residual block that takes the time (and
// class) embedding, down- and upsampling, and the sequence that passes the embedding to the blocks that
// take it (guided-diffusion's TimestepEmbedSequential).
#pragma once

#include <fergen/backend/arithmetic.hpp>
#include <fergen/backend/channel_bias.hpp>
#include <fergen/backend/cpu/arithmetic.hpp>
#include <fergen/backend/cpu/channel_bias.hpp>
#include <fergen/models/denoiser.hpp>
#include <fergen/nn/fast_silu.hpp>
#include <fergen/nn/conv2d.hpp>
#include <fergen/nn/dropout.hpp>
#include <fergen/nn/group_norm.hpp>
#include <fergen/nn/linear.hpp>
#include <fergen/nn/named.hpp>
#include <fergen/nn/self_attention.hpp>
#include <fergen/nn/upsample_nearest.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace models {

struct res_block_options {
  std::int64_t groups = 32;  // group normalisation groups; must divide both channel counts
  double dropout = 0.0;
  double eps = 1e-5;
};

// The DDPM residual block (guided-diffusion's ResBlock without scale-shift norm):
//   h = conv3x3(silu(norm(x)));  h += linear(silu(emb))[:, :, None, None]
//   h = conv3x3(dropout(silu(norm(h))));  y = skip(x) + h
// skip is the identity when the channel count stays, else a 1x1 convolution. Parameter names follow
// guided-diffusion: in_layers.{0: norm, 2: conv}, emb_layers.1 (linear), out_layers.{0: norm, 3: conv},
// skip_connection. The second convolution starts at zero (models/unet.hpp sets the rule), so a new block is
// the identity on its skip path, as in DDPM.
template <class B>
class res_block {
 public:
  using backend = B;
  using tensor_type = tensor<B>;

  res_block(std::int64_t in_channels, std::int64_t out_channels, std::int64_t emb_dim, res_block_options o = {})
      : in_(in_channels), out_(out_channels), emb_dim_(emb_dim),
        in_norm_(nn::make_named<decltype(in_norm_)>(o.groups, in_channels, nn::group_norm_options{.eps = o.eps})),
        in_conv_(in_channels, out_channels, {.kernel = 3, .padding = 1}),
        emb_proj_(emb_dim, out_channels),
        out_norm_(nn::make_named<decltype(out_norm_)>(o.groups, out_channels, nn::group_norm_options{.eps = o.eps})),
        drop_(o.dropout),
        out_conv_(out_channels, out_channels, {.kernel = 3, .padding = 1}) {
    if (in_channels != out_channels) skip_.emplace(in_channels, out_channels, nn::conv2d_options{.kernel = 1});
  }

  shape output_shape(const shape& x) const {
    require(x.c == in_, describe(), ": input ", x, " has ", x.c, " channels, expected ", in_);
    return {x.n, out_, x.h, x.w};
  }

  tensor_type forward(context<B>& ctx, const tensor_type& x, const tensor_type& emb) {
    output_shape(x.shape());
    require(emb.shape() == shape{x.shape().n, emb_dim_, 1, 1}, describe(), ": embedding ", emb.shape(),
            " does not fit input ", x.shape(), " (expected [", x.shape().n, ", ", emb_dim_, ", 1, 1])");
    tensor_type h = nn::within(in_norm_, [&](auto& l) { return l.forward(ctx, x); });
    h = in_act_.forward(ctx, h);
    h = nn::within(in_conv_, [&](auto& l) { return l.forward(ctx, h); });
    tensor_type e = emb_act_.forward(ctx, emb);
    e = nn::within(emb_proj_, [&](auto& l) { return l.forward(ctx, e); });
    h = ops::channel_bias<B>::forward(ctx, h, e);
    h = nn::within(out_norm_, [&](auto& l) { return l.forward(ctx, h); });
    h = out_act_.forward(ctx, h);
    h = drop_.forward(ctx, h);
    h = nn::within(out_conv_, [&](auto& l) { return l.forward(ctx, h); });
    const tensor_type s = skip_ ? nn::within(*skip_, [&](auto& l) { return l.forward(ctx, x); }) : x;
    return ops::arithmetic<B>::add(ctx, s, h);
  }

  embedded_gradients<B> backward(context<B>& ctx, const tensor_type& dy) {
    tensor_type dh = nn::within(out_conv_, [&](auto& l) { return l.backward(ctx, dy); });
    dh = drop_.backward(ctx, dh);
    dh = out_act_.backward(ctx, dh);
    dh = nn::within(out_norm_, [&](auto& l) { return l.backward(ctx, dh); });
    tensor_type de = ops::channel_bias<B>::backward_bias(ctx, dh);
    de = nn::within(emb_proj_, [&](auto& l) { return l.backward(ctx, de); });
    de = emb_act_.backward(ctx, de);
    dh = nn::within(in_conv_, [&](auto& l) { return l.backward(ctx, dh); });
    dh = in_act_.backward(ctx, dh);
    tensor_type dx = nn::within(in_norm_, [&](auto& l) { return l.backward(ctx, dh); });
    if (skip_) {
      ops::arithmetic<B>::accumulate(ctx, dx, nn::within(*skip_, [&](auto& l) { return l.backward(ctx, dy); }));
    } else {
      ops::arithmetic<B>::accumulate(ctx, dx, dy);
    }
    return {std::move(dx), std::move(de)};
  }

  template <class V>
  void visit_parameters(V&& visit) {
    nn::visit_children(visit, in_norm_, in_conv_, emb_proj_, out_norm_, out_conv_, skip_);
  }

  nn::conv2d<B>& out_conv() { return out_conv_; }
  std::int64_t in_channels() const { return in_; }
  std::int64_t out_channels() const { return out_; }
  std::string describe() const { return str("res_block(", in_, "->", out_, ", emb ", emb_dim_, ")"); }

 private:
  std::int64_t in_, out_, emb_dim_;
  nn::named<"in_layers.0", nn::group_norm<B>> in_norm_;
  nn::fast_silu<B> in_act_;
  nn::named<"in_layers.2", nn::conv2d<B>> in_conv_;
  nn::fast_silu<B> emb_act_;
  nn::named<"emb_layers.1", nn::linear<B>> emb_proj_;
  nn::named<"out_layers.0", nn::group_norm<B>> out_norm_;
  nn::fast_silu<B> out_act_;
  nn::dropout<B> drop_;
  nn::named<"out_layers.3", nn::conv2d<B>> out_conv_;
  std::optional<nn::named<"skip_connection", nn::conv2d<B>>> skip_;
};

// Halves height and width with a 3x3 convolution of stride 2 (DDPM's learned downsampling). Parameters
// "op.weight", "op.bias". Odd sizes give ceil(size / 2), as PyTorch's.
template <class B>
class downsample {
 public:
  using backend = B;
  using tensor_type = tensor<B>;

  explicit downsample(std::int64_t channels) : op_(channels, channels, {.kernel = 3, .stride = 2, .padding = 1}) {}

  shape output_shape(const shape& x) const { return nn::within(op_, [&](auto& l) { return l.output_shape(x); }); }
  tensor_type forward(context<B>& ctx, const tensor_type& x) {
    return nn::within(op_, [&](auto& l) { return l.forward(ctx, x); });
  }
  tensor_type backward(context<B>& ctx, const tensor_type& dy) {
    return nn::within(op_, [&](auto& l) { return l.backward(ctx, dy); });
  }
  template <class V>
  void visit_parameters(V&& visit) {
    nn::visit_children(visit, op_);
  }

 private:
  nn::named<"op", nn::conv2d<B>> op_;
};

// Doubles height and width: nearest-neighbour x2, then a 3x3 convolution. Parameters "conv.weight",
// "conv.bias".
template <class B>
class upsample {
 public:
  using backend = B;
  using tensor_type = tensor<B>;

  explicit upsample(std::int64_t channels) : up_(2), conv_(channels, channels, {.kernel = 3, .padding = 1}) {}

  shape output_shape(const shape& x) const {
    return nn::within(conv_, [&](auto& l) { return l.output_shape(up_.output_shape(x)); });
  }
  tensor_type forward(context<B>& ctx, const tensor_type& x) {
    const tensor_type u = up_.forward(ctx, x);
    return nn::within(conv_, [&](auto& l) { return l.forward(ctx, u); });
  }
  tensor_type backward(context<B>& ctx, const tensor_type& dy) {
    const tensor_type du = nn::within(conv_, [&](auto& l) { return l.backward(ctx, dy); });
    return up_.backward(ctx, du);
  }
  template <class V>
  void visit_parameters(V&& visit) {
    nn::visit_children(visit, conv_);
  }

 private:
  nn::upsample_nearest<B> up_;
  nn::named<"conv", nn::conv2d<B>> conv_;
};

// One entry of a UNet stage: a plain layer or an embedding block.
template <class B>
using unet_layer = std::variant<nn::conv2d<B>, res_block<B>, nn::self_attention<B>, downsample<B>, upsample<B>>;

// A sequence of UNet layers, named "0", "1", ... as torch.nn.Sequential: embedding blocks get the embedding,
// plain layers only the feature map. Itself an embedding block; its embedding gradient is the sum over the
// blocks that took the embedding (zero when none did).
template <class B>
class embed_sequential {
 public:
  using backend = B;
  using tensor_type = tensor<B>;

  embed_sequential() = default;
  template <class... Ls>
  explicit embed_sequential(Ls&&... layers) {
    (layers_.emplace_back(std::forward<Ls>(layers)), ...);
  }

  template <class L>
  void push_back(L&& layer) {
    layers_.emplace_back(std::forward<L>(layer));
  }
  std::size_t size() const { return layers_.size(); }
  unet_layer<B>& operator[](std::size_t i) { return layers_[i]; }

  shape output_shape(shape x) const {
    for (std::size_t i = 0; i < layers_.size(); ++i)
      x = nn::within(layers_, i, [&](const auto& v) { return std::visit([&](const auto& l) { return l.output_shape(x); }, v); });
    return x;
  }

  tensor_type forward(context<B>& ctx, const tensor_type& x, const tensor_type& emb) {
    tensor_type h = x;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      h = nn::within(layers_, i, [&](auto& v) {
        return std::visit([&](auto& l) -> tensor_type {
          if constexpr (embedding_block<std::remove_cvref_t<decltype(l)>>) {
            return l.forward(ctx, h, emb);
          } else {
            return l.forward(ctx, h);
          }
        }, v);
      });
    }
    emb_shape_ = emb.shape();
    return h;
  }

  embedded_gradients<B> backward(context<B>& ctx, const tensor_type& dy) {
    embedded_gradients<B> g{dy, tensor_type(emb_shape_)};
    for (std::size_t k = layers_.size(); k-- > 0;) {
      g.dx = nn::within(layers_, k, [&](auto& v) {
        return std::visit([&](auto& l) -> tensor_type {
          if constexpr (embedding_block<std::remove_cvref_t<decltype(l)>>) {
            embedded_gradients<B> inner = l.backward(ctx, g.dx);
            ops::arithmetic<B>::accumulate(ctx, g.demb, inner.demb);
            return std::move(inner.dx);
          } else {
            return l.backward(ctx, g.dx);
          }
        }, v);
      });
    }
    return g;
  }

  template <class V>
  void visit_parameters(V&& visit) {
    nn::visit_children(visit, layers_);
  }

 private:
  nn::named_list<"", unet_layer<B>> layers_;  // "0", "1", ...
  shape emb_shape_{};
};

}  // namespace models
FERGEN_END_NAMESPACE
