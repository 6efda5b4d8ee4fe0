// fergen/models/vgg.hpp: VGG as torchvision builds it (configurations A, B, D = VGG-16, E; BatchNorm optional).
#pragma once

#include <fergen/models/classifier.hpp>
#include <fergen/models/imagenet.hpp>
#include <fergen/nn/activation.hpp>
#include <fergen/nn/adaptive_avg_pool2d.hpp>
#include <fergen/nn/batch_norm2d.hpp>
#include <fergen/nn/conv2d.hpp>
#include <fergen/nn/dropout.hpp>
#include <fergen/nn/flatten.hpp>
#include <fergen/nn/input_conv2d.hpp>
#include <fergen/nn/linear.hpp>
#include <fergen/nn/max_pool2d.hpp>
#include <fergen/nn/named.hpp>
#include <fergen/nn/sequential.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

FERGEN_BEGIN_NAMESPACE
namespace models {

// torchvision's "M" in a VGG configuration: a 2x2 max-pool with stride 2.
inline constexpr std::int64_t vgg_max_pool = -1;

// How the classifier's linear layers are initialised. torchvision: normal(0, 0.01), zero bias. Its three
// layers then start with a gain of about 0.01^3 x sqrt(25088 x 4096 x 4096), and a network trained from
// scratch for a few hundred steps sits on the plateau of uniform logits (on the procedural faces a small
// VGG stays at chance for three epochs). kaiming: normal(0, sqrt(2 / in)) for the hidden layers (ReLU
// follows), normal(0, sqrt(1 / in)) for the head, zero bias: unit gain, the plateau is gone.
enum class vgg_linear_init { torchvision, kaiming };

// The family's knobs, as torchvision's `cfgs` and VGG's classifier have them. `layers` lists the widths of
// the 3x3 convolutions (padding 1, each followed by ReLU, or BatchNorm then ReLU) and vgg_max_pool entries,
// in order; the first 0 ends the list.
struct vgg_config {
  std::array<std::int64_t, 24> layers{};
  bool batch_norm = false;      // vgg16_bn and friends
  std::int64_t hidden = 4096;   // width of the classifier's two hidden linear layers
  std::int64_t pool = 7;        // adaptive average pool to pool x pool before the classifier
  vgg_linear_init linear_init = vgg_linear_init::torchvision;
  friend constexpr bool operator==(const vgg_config&, const vgg_config&) = default;
};

// Configuration D: VGG-16.
inline constexpr vgg_config vgg16_config{.layers = {64, 64, vgg_max_pool, 128, 128, vgg_max_pool, 256, 256, 256,
                                                    vgg_max_pool, 512, 512, 512, vgg_max_pool, 512, 512, 512,
                                                    vgg_max_pool}};

// Run-time options (torchvision's VGG(dropout=0.5)).
struct vgg_options {
  double dropout = 0.5;
};

namespace detail {

enum class vgg_slot_kind { input_conv, conv, norm, relu, pool };

// One slot of `features`: torchvision's nn.Sequential puts conv, [bn,] relu for each width and one max-pool
// for each "M", numbered 0, 1, ... in that order, so features.0 is the first convolution and, in VGG-16,
// features.28 the last.
struct vgg_slot {
  vgg_slot_kind kind = vgg_slot_kind::relu;
  std::int64_t in = 0, out = 0;  // channels of a convolution (in = 0 for the first: run time) or a norm
};

constexpr std::int64_t vgg_entries(const vgg_config& c) {
  std::size_t n = 0;
  while (n < c.layers.size() && c.layers[n] != 0) ++n;
  return static_cast<std::int64_t>(n);
}

constexpr bool vgg_valid(const vgg_config& c) {
  const std::int64_t n = vgg_entries(c);
  if (n == 0 || c.layers[0] <= 0 || c.hidden <= 0 || c.pool <= 0) return false;
  for (std::int64_t i = 0; i < n; ++i)
    if (c.layers[static_cast<std::size_t>(i)] < 0 && c.layers[static_cast<std::size_t>(i)] != vgg_max_pool)
      return false;
  return true;
}

constexpr std::int64_t vgg_slot_count(const vgg_config& c) {
  std::int64_t slots = 0;
  for (std::int64_t i = 0; i < vgg_entries(c); ++i)
    slots += c.layers[static_cast<std::size_t>(i)] == vgg_max_pool ? 1 : (c.batch_norm ? 3 : 2);
  return slots;
}

constexpr vgg_slot vgg_slot_at(const vgg_config& c, std::int64_t j) {
  std::int64_t slot = 0, channels = 0;
  for (std::int64_t i = 0; i < vgg_entries(c); ++i) {
    const std::int64_t v = c.layers[static_cast<std::size_t>(i)];
    if (v == vgg_max_pool) {
      if (slot++ == j) return {vgg_slot_kind::pool, channels, channels};
      continue;
    }
    if (slot++ == j) return {channels == 0 ? vgg_slot_kind::input_conv : vgg_slot_kind::conv, channels, v};
    if (c.batch_norm && slot++ == j) return {vgg_slot_kind::norm, v, v};
    if (slot++ == j) return {vgg_slot_kind::relu, v, v};
    channels = v;
  }
  return {};
}

constexpr std::int64_t vgg_pools(const vgg_config& c) {
  std::int64_t pools = 0;
  for (std::int64_t i = 0; i < vgg_entries(c); ++i) pools += c.layers[static_cast<std::size_t>(i)] == vgg_max_pool;
  return pools;
}

constexpr std::int64_t vgg_last_width(const vgg_config& c) {
  std::int64_t width = 0;
  for (std::int64_t i = 0; i < vgg_entries(c); ++i)
    if (c.layers[static_cast<std::size_t>(i)] > 0) width = c.layers[static_cast<std::size_t>(i)];
  return width;
}

template <class B, vgg_slot_kind K>
struct vgg_slot_layer;
template <class B>
struct vgg_slot_layer<B, vgg_slot_kind::input_conv> {
  using type = nn::input_conv2d<B>;
};
template <class B>
struct vgg_slot_layer<B, vgg_slot_kind::conv> {
  using type = nn::conv2d<B>;
};
template <class B>
struct vgg_slot_layer<B, vgg_slot_kind::norm> {
  using type = nn::batch_norm2d<B>;
};
template <class B>
struct vgg_slot_layer<B, vgg_slot_kind::relu> {
  using type = nn::relu<B>;
};
template <class B>
struct vgg_slot_layer<B, vgg_slot_kind::pool> {
  using type = nn::max_pool2d<B>;
};

// torchvision's VGG initialisation: kaiming_normal_(mode="fan_out", nonlinearity="relu") for convolution
// weights, zero biases.
template <class Conv>
void vgg_conv_init(Conv& conv, std::int64_t out) {
  conv.weight().init = nn::init_rule::normal(0, std::sqrt(2.0 / static_cast<double>(out * 9)));
  conv.bias()->init = nn::init_rule::constant(0);
}

template <class B, vgg_config C, std::size_t J>
auto make_vgg_slot(std::int64_t in_channels) {
  constexpr vgg_slot s = vgg_slot_at(C, static_cast<std::int64_t>(J));
  const nn::conv2d_options conv{.kernel = 3, .padding = 1};
  if constexpr (s.kind == vgg_slot_kind::input_conv) {
    nn::input_conv2d<B> layer(3, s.out, conv,
                              in_channels == 1 ? std::optional(imagenet::normalization(1)) : std::nullopt);
    vgg_conv_init(layer, s.out);
    return layer;
  } else if constexpr (s.kind == vgg_slot_kind::conv) {
    nn::conv2d<B> layer(s.in, s.out, conv);
    vgg_conv_init(layer, s.out);
    return layer;
  } else if constexpr (s.kind == vgg_slot_kind::norm) {
    return nn::batch_norm2d<B>(s.out);
  } else if constexpr (s.kind == vgg_slot_kind::relu) {
    return nn::relu<B>{};
  } else {
    return nn::max_pool2d<B>({.kernel = 2, .stride = 2});
  }
}

template <class B, vgg_config C, class Indices = std::make_index_sequence<static_cast<std::size_t>(vgg_slot_count(C))>>
struct vgg_features;
template <class B, vgg_config C, std::size_t... Js>
struct vgg_features<B, C, std::index_sequence<Js...>> {
  using type = nn::sequential<typename vgg_slot_layer<B, vgg_slot_at(C, static_cast<std::int64_t>(Js)).kind>::type...>;
  static type make(std::int64_t in_channels) { return type(make_vgg_slot<B, C, Js>(in_channels)...); }
};

template <class B>
using vgg_hidden = nn::sequential<nn::linear<B>, nn::relu<B>, nn::dropout<B>, nn::linear<B>, nn::relu<B>, nn::dropout<B>>;

template <class B, vgg_config C>
using vgg_body = nn::sequential<nn::named<"features", typename vgg_features<B, C>::type>,
                                nn::named<"avgpool", nn::adaptive_avg_pool2d<B>>, nn::flatten<B>,
                                nn::named<"classifier", vgg_hidden<B>>>;

}  // namespace detail

// torchvision.models.VGG: features (convolutions and max-pools), avgpool (adaptive, to 7x7), flatten, and
// classifier = Linear(512*7*7, 4096), ReLU, Dropout, Linear(4096, 4096), ReLU, Dropout, Linear(4096, classes).
// The head is classifier.6; the penultimate features are classifier.5's output (4096 values after ReLU and
// dropout, which is the identity in evaluation).
//   in_channels 3: normalised RGB, exactly torchvision's network.
//   in_channels 1: gray on [0, 1]; features.0 folds in the replication to RGB and ImageNet's normalisation
//                  (its weight stays (64, 3, 3, 3), so RGB weight files load unchanged).
// Parameters are initialised by nn::initialize(net, seed) with torchvision's rules.
template <class B, vgg_config Config>
class vgg : public classifier<detail::vgg_body<B, Config>, "classifier.6"> {
  static_assert(detail::vgg_valid(Config),
                "vgg<B, Config>: Config.layers must start with a convolution width and hold only widths > 0 and "
                "vgg_max_pool entries before its terminating 0; hidden and pool must be positive");
  using base = classifier<detail::vgg_body<B, Config>, "classifier.6">;

 public:
  explicit vgg(std::int64_t num_classes = 1000, std::int64_t in_channels = 3, vgg_options options = {})
      : base(Config == vgg16_config ? "vgg16" : "vgg", [&] { return make_body(in_channels, options); }, Config.hidden,
             num_classes, in_channels, std::int64_t{1} << detail::vgg_pools(Config), head_rule()) {}

  static constexpr vgg_config config = Config;

  nn::input_conv2d<B>& first_layer() { return this->body().template get<0>().template get<0>(); }
  void set_input_gradient(bool on) { first_layer().set_input_gradient(on); }

 private:
  // The rule of a linear layer with `in` inputs (see vgg_linear_init).
  static head_init linear_rule(std::int64_t in, bool hidden) {
    if (Config.linear_init == vgg_linear_init::torchvision)
      return {nn::init_rule::normal(0, 0.01), nn::init_rule::constant(0)};
    return {nn::init_rule::normal(0, std::sqrt((hidden ? 2.0 : 1.0) / static_cast<double>(in))),
            nn::init_rule::constant(0)};
  }
  static head_init head_rule() { return linear_rule(Config.hidden, false); }

  static detail::vgg_body<B, Config> make_body(std::int64_t in_channels, const vgg_options& o) {
    require(in_channels == 1 || in_channels == 3, "vgg: in_channels ", in_channels,
            " must be 1 (gray, ImageNet normalisation folded into features.0) or 3 (normalised RGB)");
    require(o.dropout >= 0 && o.dropout <= 1, "vgg: dropout ", o.dropout, " is outside [0, 1]");
    const std::int64_t flat = detail::vgg_last_width(Config) * Config.pool * Config.pool;
    auto linear = [](std::int64_t in, std::int64_t out) {
      nn::linear<B> l(in, out);
      const head_init rule = linear_rule(in, true);
      l.weight().init = *rule.weight;
      l.bias()->init = *rule.bias;
      return l;
    };
    return detail::vgg_body<B, Config>(
        detail::vgg_features<B, Config>::make(in_channels), nn::adaptive_avg_pool2d<B>(Config.pool), nn::flatten<B>{},
        detail::vgg_hidden<B>(linear(flat, Config.hidden), nn::relu<B>{}, nn::dropout<B>(o.dropout),
                              linear(Config.hidden, Config.hidden), nn::relu<B>{}, nn::dropout<B>(o.dropout)));
  }
};

template <class B>
using vgg16 = vgg<B, vgg16_config>;

}  // namespace models
FERGEN_END_NAMESPACE
