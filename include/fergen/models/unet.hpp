// fergen/models/unet.hpp: the DDPM UNet, a class-conditional denoiser for diffusion models. Its configuration is
// models/unet_config.hpp; the configurations the project names, models/unet_presets.hpp.
#pragma once

#include <fergen/backend/arithmetic.hpp>
#include <fergen/backend/cpu/arithmetic.hpp>
#include <fergen/backend/cpu/timestep_embedding.hpp>
#include <fergen/backend/timestep_embedding.hpp>
#include <fergen/models/denoiser.hpp>
#include <fergen/models/unet_blocks.hpp>
#include <fergen/models/unet_config.hpp>
#include <fergen/nn/fast_silu.hpp>
#include <fergen/nn/conv2d.hpp>
#include <fergen/nn/embedding.hpp>
#include <fergen/nn/group_norm.hpp>
#include <fergen/nn/linear.hpp>
#include <fergen/nn/named.hpp>
#include <fergen/nn/parameters.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace models {

namespace detail {
// DDPM starts the last convolution of every residual block, the attention output and the network output
// at zero: each block begins as the identity of its skip path and the network predicts 0.
template <class Layer>
void zero_initialized(Layer& layer) {
  layer.visit_parameters([](std::string_view, auto& p) {
    if constexpr (requires { p.init; }) {
      p.init = nn::init_rule::constant(0);
      p.value.fill(0);
    }
  });
}
}  // namespace detail

// The DDPM UNet (Ho et al. 2020) as guided-diffusion writes it, with a class embedding (Dhariwal & Nichol
// 2021) and an optional null class for classifier-free guidance (Ho & Salimans 2022):
//   emb = time_embed(sinusoidal(t)) [+ label_emb(y)]            time_embed: linear, SiLU, linear
//   encoder (input_blocks): conv; per level res_blocks x (res_block [+ attention]); downsample between levels
//   middle_block: res_block, [attention], res_block
//   decoder (output_blocks): per level, from the deepest, res_blocks + 1 x (concat skip, res_block
//       [+ attention]); upsample after each level but the top
//   out: group_norm, SiLU, conv3x3 (starts at zero)
// Parameter names are guided-diffusion's (input_blocks.1.0.in_layers.0.weight, label_emb.weight, ...), so a
// torch model with its layout loads directly. Implements models::conditional_denoiser.
template <class B>
class unet {
 public:
  using backend = B;
  using tensor_type = tensor<B>;
  static constexpr std::string_view model_type = "unet";  // how checkpoints name this network

  explicit unet(unet_config config) : config_(std::move(config)) {
    config_.validate();
    const unet_config& c = config_;
    const std::int64_t emb = c.embed_dim();
    time_in_.emplace(c.base_channels, emb);
    time_out_.emplace(emb, emb);
    if (c.classes > 0) label_emb_.emplace(c.classes + (c.null_class ? 1 : 0), emb);
    const res_block_options ro{.groups = c.groups, .dropout = c.dropout};
    const nn::self_attention_options ao{.heads = c.heads, .groups = c.groups};
    auto res = [&](std::int64_t in, std::int64_t out) {
      res_block<B> r(in, out, emb, ro);
      detail::zero_initialized(r.out_conv());
      return r;
    };
    auto attention = [&](std::int64_t ch) {
      nn::self_attention<B> a(ch, ao);
      detail::zero_initialized(a.proj_out());
      return a;
    };

    std::int64_t ch = c.base_channels * c.channel_mult[0];
    std::vector<std::int64_t> skips{ch};
    input_blocks_.emplace_back(nn::conv2d<B>(c.image_channels, ch, {.kernel = 3, .padding = 1}));
    for (std::int64_t level = 0; level < c.levels(); ++level) {
      const std::int64_t out = c.base_channels * c.channel_mult[static_cast<std::size_t>(level)];
      for (std::int64_t i = 0; i < c.res_blocks; ++i) {
        embed_sequential<B> block(res(ch, out));
        ch = out;
        if (c.attention_at_level(level)) block.push_back(attention(ch));
        input_blocks_.push_back(std::move(block));
        skips.push_back(ch);
      }
      if (level + 1 < c.levels()) {
        input_blocks_.emplace_back(downsample<B>(ch));
        skips.push_back(ch);
      }
    }
    middle_block_ = embed_sequential<B>(res(ch, ch));
    if (c.middle_attention) middle_block_.push_back(attention(ch));
    middle_block_.push_back(res(ch, ch));
    for (std::int64_t level = c.levels() - 1; level >= 0; --level) {
      const std::int64_t out = c.base_channels * c.channel_mult[static_cast<std::size_t>(level)];
      for (std::int64_t i = 0; i <= c.res_blocks; ++i) {
        const std::int64_t skip = skips.back();
        skips.pop_back();
        splits_.push_back({ch, skip});
        embed_sequential<B> block(res(ch + skip, out));
        ch = out;
        if (c.attention_at_level(level)) block.push_back(attention(ch));
        if (level > 0 && i == c.res_blocks) block.push_back(upsample<B>(ch));
        output_blocks_.push_back(std::move(block));
      }
    }
    out_norm_.emplace(c.groups, ch);
    out_conv_.emplace(ch, c.image_channels, nn::conv2d_options{.kernel = 3, .padding = 1});
    detail::zero_initialized(*out_conv_);
  }

  const unet_config& config() const { return config_; }
  std::int64_t class_count() const { return config_.classes; }
  std::int64_t null_label() const { return config_.classes > 0 && config_.null_class ? config_.classes : -1; }

  shape output_shape(const shape& x) const {
    require(x.c == config_.image_channels, "unet: input ", x, " has ", x.c, " channels, the network takes ",
            config_.image_channels);
    const std::int64_t m = config_.size_multiple();
    require(x.h > 0 && x.w > 0 && x.h % m == 0 && x.w % m == 0, "unet: input ", x, " has a size that is not a multiple of ",
            m, " (2^(levels - 1) for ", config_.levels(), " levels)");
    return x;
  }

  tensor_type forward(context<B>& ctx, const tensor_type& x, std::span<const double> timesteps,
                      std::span<const std::int64_t> labels) {
    const shape xs = x.shape();
    output_shape(xs);
    check_conditioning(xs.n, timesteps, labels);
    tensor_type e = ops::timestep_embedding<B>::forward(ctx, timesteps, {.dim = config_.base_channels});
    e = nn::within(*time_in_, [&](auto& l) { return l.forward(ctx, e); });
    e = time_act_.forward(ctx, e);
    e = nn::within(*time_out_, [&](auto& l) { return l.forward(ctx, e); });
    if (label_emb_) e = ops::arithmetic<B>::add(ctx, e, label_emb_->forward(ctx, labels));

    std::vector<tensor_type> skips;
    skips.reserve(input_blocks_.size());
    tensor_type h = x;
    for (std::size_t i = 0; i < input_blocks_.size(); ++i) {
      h = nn::within(input_blocks_, i, [&](auto& block) { return block.forward(ctx, h, e); });
      skips.push_back(h);
    }
    h = nn::within(middle_block_, [&](auto& block) { return block.forward(ctx, h, e); });
    for (std::size_t j = 0; j < output_blocks_.size(); ++j) {
      h = ops::arithmetic<B>::concat_channels(ctx, {h, skips.back()});
      skips.pop_back();
      h = nn::within(output_blocks_, j, [&](auto& block) { return block.forward(ctx, h, e); });
    }
    h = nn::within(*out_norm_, [&](auto& l) { return l.forward(ctx, h); });
    h = out_act_.forward(ctx, h);
    h = nn::within(*out_conv_, [&](auto& l) { return l.forward(ctx, h); });
    emb_shape_ = e.shape();
    return h;
  }

  tensor_type backward(context<B>& ctx, const tensor_type& dy) {
    using arithmetic = ops::arithmetic<B>;
    tensor_type dh = nn::within(*out_conv_, [&](auto& l) { return l.backward(ctx, dy); });
    dh = out_act_.backward(ctx, dh);
    dh = nn::within(*out_norm_, [&](auto& l) { return l.backward(ctx, dh); });
    tensor_type demb(emb_shape_);
    std::vector<tensor_type> dskips(input_blocks_.size());
    for (std::size_t j = output_blocks_.size(); j-- > 0;) {
      auto g = nn::within(output_blocks_, j, [&](auto& block) { return block.backward(ctx, dh); });
      arithmetic::accumulate(ctx, demb, g.demb);
      auto parts = arithmetic::split_channels(ctx, g.dx, {splits_[j].first, splits_[j].second});
      dh = std::move(parts[0]);
      dskips[input_blocks_.size() - 1 - j] = std::move(parts[1]);
    }
    {
      auto g = nn::within(middle_block_, [&](auto& block) { return block.backward(ctx, dh); });
      arithmetic::accumulate(ctx, demb, g.demb);
      dh = std::move(g.dx);
    }
    for (std::size_t i = input_blocks_.size(); i-- > 0;) {
      arithmetic::accumulate(ctx, dh, dskips[i]);
      auto g = nn::within(input_blocks_, i, [&](auto& block) { return block.backward(ctx, dh); });
      arithmetic::accumulate(ctx, demb, g.demb);
      dh = std::move(g.dx);
    }
    if (label_emb_) label_emb_->backward(ctx, demb);
    tensor_type de = nn::within(*time_out_, [&](auto& l) { return l.backward(ctx, demb); });
    de = time_act_.backward(ctx, de);
    nn::within(*time_in_, [&](auto& l) { return l.backward(ctx, de); });
    return dh;
  }

  template <class V>
  void visit_parameters(V&& visit) {
    nn::visit_children(visit, time_in_, time_out_, label_emb_, input_blocks_, middle_block_, output_blocks_, out_norm_,
                       out_conv_);
  }

  std::string describe() const { return "unet(" + config_.describe() + ")"; }

 private:
  // Timesteps: one finite value per sample. Labels: one per sample in [0, classes) or the null label;
  // none for an unconditional network.
  void check_conditioning(std::int64_t n, std::span<const double> timesteps, std::span<const std::int64_t> labels) const {
    require(static_cast<std::int64_t>(timesteps.size()) == n, "unet: ", timesteps.size(), " timesteps for a batch of ",
            n, " (one per sample)");
    if (config_.classes == 0) {
      require(labels.empty(), "unet: ", labels.size(), " labels given to an unconditional network (classes = 0)");
      return;
    }
    require(static_cast<std::int64_t>(labels.size()) == n, "unet: ", labels.size(), " labels for a batch of ", n,
            " (one per sample)");
    const std::int64_t top = config_.classes + (config_.null_class ? 1 : 0);
    for (std::size_t i = 0; i < labels.size(); ++i)
      require(labels[i] >= 0 && labels[i] < top, "unet: label ", labels[i], " of sample ", i, " is outside [0, ",
              config_.classes, ")", config_.null_class ? str(" and is not the null label ", config_.classes)
                                                        : std::string(" (the network has no null class)"));
  }

  // The children, each under its guided-diffusion name (the only place the names are written). Those built
  // from the checked configuration, in the constructor's body, are optional until then.
  unet_config config_;
  std::optional<nn::named<"time_embed.0", nn::linear<B>>> time_in_;
  nn::fast_silu<B> time_act_;
  std::optional<nn::named<"time_embed.2", nn::linear<B>>> time_out_;
  std::optional<nn::named<"label_emb", nn::embedding<B>>> label_emb_;
  nn::named_list<"input_blocks", embed_sequential<B>> input_blocks_;
  nn::named<"middle_block", embed_sequential<B>> middle_block_;
  nn::named_list<"output_blocks", embed_sequential<B>> output_blocks_;
  std::vector<std::pair<std::int64_t, std::int64_t>> splits_;  // per output block: channels of h, of the skip
  std::optional<nn::named<"out.0", nn::group_norm<B>>> out_norm_;
  nn::fast_silu<B> out_act_;
  std::optional<nn::named<"out.2", nn::conv2d<B>>> out_conv_;
  shape emb_shape_{};
};

}  // namespace models
FERGEN_END_NAMESPACE
