// fergen/models/unet.hpp: the DDPM UNet, a class-conditional denoiser for diffusion models.
#pragma once

#include <fergen/backend/arithmetic.hpp>
#include <fergen/backend/cpu/arithmetic.hpp>
#include <fergen/backend/cpu/timestep_embedding.hpp>
#include <fergen/backend/timestep_embedding.hpp>
#include <fergen/core/key_value.hpp>
#include <fergen/models/denoiser.hpp>
#include <fergen/models/unet_blocks.hpp>
#include <fergen/nn/fast_silu.hpp>
#include <fergen/nn/conv2d.hpp>
#include <fergen/nn/embedding.hpp>
#include <fergen/nn/group_norm.hpp>
#include <fergen/nn/linear.hpp>
#include <fergen/nn/named.hpp>
#include <fergen/nn/parameters.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace models {

// The hyper-parameters of the UNet. The architecture is fixed by these values; image size is only checked
// (and places attention): the network runs on any height and width divisible by 2^(levels - 1).
struct unet_config {
  std::int64_t image_channels = 1;                  // in and out (1: gray frames)
  std::int64_t image_size = 48;                     // the training size; attention_resolutions refer to it
  std::int64_t base_channels = 64;                  // channels of level 0
  std::vector<std::int64_t> channel_mult{1, 2, 2};  // level l has base_channels * channel_mult[l] channels
  std::int64_t res_blocks = 2;                      // residual blocks per level (the decoder has one more)
  std::vector<std::int64_t> attention_resolutions{};  // feature-map sizes (pixels) with self-attention, e.g. {12}
  bool middle_attention = false;                    // self-attention between the two middle blocks (DDPM: on)
  std::int64_t heads = 1;
  std::int64_t groups = 8;      // group normalisation groups (DDPM: 32); divides every channel count
  double dropout = 0.0;         // in every residual block (DDPM CIFAR-10: 0.1)
  std::int64_t classes = 0;     // class-conditional when > 0: a label embedding added to the time embedding
  bool null_class = true;       // with classes: one more learnable row, label `classes`, the null token of
                                // classifier-free guidance (label dropout trains it)

  std::int64_t levels() const { return static_cast<std::int64_t>(channel_mult.size()); }
  std::int64_t embed_dim() const { return 4 * base_channels; }  // DDPM: 4x the base channels
  std::int64_t size_multiple() const { return std::int64_t{1} << (levels() - 1); }

  void validate() const {
    auto bad = [](const auto&... parts) { fail("unet: ", parts...); };
    if (image_channels < 1 || image_channels > 64) bad("image_channels = ", image_channels, " is outside [1, 64]");
    if (base_channels < 1 || base_channels > 4096) bad("base_channels = ", base_channels, " is outside [1, 4096]");
    if (channel_mult.empty() || channel_mult.size() > 8) bad("channel_mult has ", channel_mult.size(), " levels; give 1 to 8");
    for (auto m : channel_mult)
      if (m < 1 || m > 64) bad("channel multiplier ", m, " is outside [1, 64]");
    if (res_blocks < 1 || res_blocks > 16) bad("res_blocks = ", res_blocks, " is outside [1, 16]");
    if (heads < 1) bad("heads = ", heads, " must be at least 1");
    if (groups < 1) bad("groups = ", groups, " must be at least 1");
    for (auto m : channel_mult)
      if ((base_channels * m) % groups != 0 || (base_channels * m) % heads != 0)
        bad(base_channels * m, " channels (base_channels ", base_channels, " x multiplier ", m, ") do not divide into ",
            groups, " normalisation groups", heads > 1 ? str(" and ", heads, " heads") : std::string());
    if (!(dropout >= 0 && dropout < 1)) bad("dropout = ", dropout, " is outside [0, 1)");
    if (classes < 0 || classes > 100000) bad("classes = ", classes, " is outside [0, 100000]");
    if (image_size < 1 || image_size % size_multiple() != 0)
      bad("image size ", image_size, " is not a positive multiple of 2^(levels - 1) = ", size_multiple(), " (",
          levels(), " levels)");
    for (auto r : attention_resolutions) {
      bool found = false;
      for (std::int64_t l = 0; l < levels(); ++l) found = found || image_size >> l == r;
      if (!found) bad("attention resolution ", r, " is not the size of any level (", sizes_text(), ")");
    }
  }

  // The feature-map size of each level, "48, 24, 12".
  std::string sizes_text() const {
    std::string s;
    for (std::int64_t l = 0; l < levels(); ++l) s += str(l ? ", " : "", image_size >> l);
    return s;
  }

  bool attention_at_level(std::int64_t level) const {
    return std::find(attention_resolutions.begin(), attention_resolutions.end(), image_size >> level) !=
           attention_resolutions.end();
  }

  // The configuration as ordered key=value entries (core/key_value.hpp): checkpoints store it, and comparing
  // two lists names the differing keys when a checkpoint does not fit a network.
  key_value_list entries() const {
    return key_value_writer{}
        .add("image_channels", image_channels)
        .add("image_size", image_size)
        .add("base_channels", base_channels)
        .add("channel_mult", channel_mult)
        .add("res_blocks", res_blocks)
        .add("attention_resolutions", attention_resolutions)
        .add("middle_attention", middle_attention)
        .add("heads", heads)
        .add("groups", groups)
        .add("dropout", dropout)
        .add("classes", classes)
        .add("null_class", null_class)
        .entries();
  }

  // The inverse of entries(); `origin` names the source in messages. Unknown or missing keys are errors.
  static unet_config from_entries(const key_value_map& e, std::string_view origin) {
    const key_value_reader r(e, std::string(origin), "UNet configuration");
    unet_config c;
    c.image_channels = r.get<std::int64_t>("image_channels");
    c.image_size = r.get<std::int64_t>("image_size");
    c.base_channels = r.get<std::int64_t>("base_channels");
    c.channel_mult = r.list<std::int64_t>("channel_mult");
    c.res_blocks = r.get<std::int64_t>("res_blocks");
    c.attention_resolutions = r.list<std::int64_t>("attention_resolutions");
    c.middle_attention = r.get<bool>("middle_attention");
    c.heads = r.get<std::int64_t>("heads");
    c.groups = r.get<std::int64_t>("groups");
    c.dropout = r.get<double>("dropout");
    c.classes = r.get<std::int64_t>("classes");
    c.null_class = r.get<bool>("null_class");
    r.reject_unknown(c.entries());
    c.validate();
    return c;
  }

  // "48x48x1, base 64, mult 1,2,2, 2 res blocks, attention at 12, 7 classes + null".
  std::string describe() const {
    std::string s = str(image_size, "x", image_size, "x", image_channels, ", base ", base_channels, ", mult ");
    for (std::size_t i = 0; i < channel_mult.size(); ++i) s += str(i ? "," : "", channel_mult[i]);
    s += str(", ", res_blocks, " res block", res_blocks == 1 ? "" : "s", ", groups ", groups);
    if (attention_resolutions.empty() && !middle_attention) {
      s += ", no attention";
    } else {
      s += ", attention at";
      for (auto r : attention_resolutions) s += str(" ", r);
      if (middle_attention) s += " middle";
    }
    if (dropout > 0) s += str(", dropout ", dropout);
    if (classes > 0) s += str(", ", classes, " classes", null_class ? " + null" : "");
    return s;
  }

  friend bool operator==(const unet_config&, const unet_config&) = default;
};

// The named configurations the project uses. classes is the dataset's class count.
namespace unet_presets {
// `fergen demo` on a 2-core CPU: 32x32 frames, three levels (32, 16, 8), 16 base channels, one residual block
// per level, no attention: 0.26M parameters and 0.12 GFLOP per image forward (README "Diffusion on a small
// CPU" gives the measured speed and the samples).
inline unet_config demo(std::int64_t classes) {
  unet_config c;
  c.image_size = 32;
  c.base_channels = 16;
  c.channel_mult = {1, 2, 2};
  c.res_blocks = 1;
  c.groups = 8;
  c.classes = classes;
  return c;
}
// The study's 48x48 gray frames: three levels (48, 24, 12), 64 base channels, two residual blocks per level,
// DDPM's attention on the smallest map and in the middle.
inline unet_config study(std::int64_t classes) {
  unet_config c;
  c.image_size = 48;
  c.base_channels = 64;
  c.channel_mult = {1, 2, 2};
  c.res_blocks = 2;
  c.attention_resolutions = {12};
  c.middle_attention = true;
  c.groups = 8;
  c.dropout = 0.1;
  c.classes = classes;
  return c;
}
// The benchmark's network (benchmarks/bench_unet.cpp): channels 64, 128, 256, two residual blocks per level,
// GroupNorm 8, no attention.
inline unet_config benchmark(std::int64_t classes = 0) {
  unet_config c;
  c.image_size = 48;
  c.base_channels = 64;
  c.channel_mult = {1, 2, 4};
  c.res_blocks = 2;
  c.groups = 8;
  c.classes = classes;
  return c;
}
}  // namespace unet_presets

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
