// fergen/models/resnet.hpp: ResNet as torchvision builds it (BasicBlock or Bottleneck, stride on the 3x3).
#pragma once

#include <fergen/models/classifier.hpp>
#include <fergen/models/imagenet.hpp>
#include <fergen/nn/activation.hpp>
#include <fergen/nn/adaptive_avg_pool2d.hpp>
#include <fergen/nn/batch_norm2d.hpp>
#include <fergen/nn/conv2d.hpp>
#include <fergen/nn/flatten.hpp>
#include <fergen/nn/input_conv2d.hpp>
#include <fergen/nn/max_pool2d.hpp>
#include <fergen/nn/named.hpp>
#include <fergen/nn/optional_layer.hpp>
#include <fergen/nn/repeat.hpp>
#include <fergen/nn/residual.hpp>
#include <fergen/nn/sequential.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

FERGEN_BEGIN_NAMESPACE
namespace models {

// The family's knobs: blocks per stage (layer1 .. layer4), the width of the stem and of the first stage
// (doubling at each stage), and the block type (Bottleneck, expansion 4; or BasicBlock, expansion 1).
struct resnet_config {
  std::array<std::int64_t, 4> layers{3, 4, 6, 3};
  std::int64_t width = 64;
  bool bottleneck = true;
  friend constexpr bool operator==(const resnet_config&, const resnet_config&) = default;
};

inline constexpr resnet_config resnet18_config{.layers = {2, 2, 2, 2}, .bottleneck = false};
inline constexpr resnet_config resnet34_config{.layers = {3, 4, 6, 3}, .bottleneck = false};
inline constexpr resnet_config resnet50_config{.layers = {3, 4, 6, 3}};
inline constexpr resnet_config resnet101_config{.layers = {3, 4, 23, 3}};
inline constexpr resnet_config resnet152_config{.layers = {3, 8, 36, 3}};

namespace detail {

template <class B>
using bottleneck_path =
    nn::sequential<nn::named<"conv1", nn::conv2d<B>>, nn::named<"bn1", nn::batch_norm2d<B>>, nn::relu<B>,
                   nn::named<"conv2", nn::conv2d<B>>, nn::named<"bn2", nn::batch_norm2d<B>>, nn::relu<B>,
                   nn::named<"conv3", nn::conv2d<B>>, nn::named<"bn3", nn::batch_norm2d<B>>>;
template <class B>
using basic_path = nn::sequential<nn::named<"conv1", nn::conv2d<B>>, nn::named<"bn1", nn::batch_norm2d<B>>,
                                  nn::relu<B>, nn::named<"conv2", nn::conv2d<B>>, nn::named<"bn2", nn::batch_norm2d<B>>>;

// torchvision's downsample = Sequential(conv1x1(stride), BatchNorm2d): only on blocks whose input and
// output differ in width or size (the first block of a stage).
template <class B>
using projection = nn::optional_layer<nn::sequential<nn::conv2d<B>, nn::batch_norm2d<B>>>;

// A block: relu(main(x) + downsample(x)), with torchvision's names (conv1, bn1, ..., downsample.0, .1).
template <class B, class Path>
using resnet_block =
    nn::sequential<nn::named<"", nn::residual<nn::named<"", Path>, nn::named<"downsample", projection<B>>>>,
                   nn::relu<B>>;

template <class B, resnet_config C>
using resnet_block_for = resnet_block<B, std::conditional_t<C.bottleneck, bottleneck_path<B>, basic_path<B>>>;

template <class B, resnet_config C, std::size_t Stage>
using resnet_stage = nn::repeat<static_cast<std::size_t>(C.layers[Stage]), resnet_block_for<B, C>>;

template <class B, resnet_config C>
using resnet_body =
    nn::sequential<nn::named<"conv1", nn::input_conv2d<B>>, nn::named<"bn1", nn::batch_norm2d<B>>,
                   nn::named<"relu", nn::relu<B>>, nn::named<"maxpool", nn::max_pool2d<B>>,
                   nn::named<"layer1", resnet_stage<B, C, 0>>, nn::named<"layer2", resnet_stage<B, C, 1>>,
                   nn::named<"layer3", resnet_stage<B, C, 2>>, nn::named<"layer4", resnet_stage<B, C, 3>>,
                   nn::named<"avgpool", nn::adaptive_avg_pool2d<B>>, nn::flatten<B>>;

constexpr std::int64_t resnet_expansion(const resnet_config& c) { return c.bottleneck ? 4 : 1; }

constexpr bool resnet_valid(const resnet_config& c) {
  for (auto n : c.layers)
    if (n < 1) return false;
  return c.width > 0;
}

inline const char* resnet_name(const resnet_config& c) {
  if (c == resnet18_config) return "resnet18";
  if (c == resnet34_config) return "resnet34";
  if (c == resnet50_config) return "resnet50";
  if (c == resnet101_config) return "resnet101";
  if (c == resnet152_config) return "resnet152";
  return "resnet";
}

// torchvision's ResNet initialisation: kaiming_normal_(mode="fan_out", nonlinearity="relu").
template <class Conv>
Conv kaiming_fan_out(Conv conv, std::int64_t out, std::int64_t kernel) {
  conv.weight().init = nn::init_rule::normal(0, std::sqrt(2.0 / static_cast<double>(out * kernel * kernel)));
  return conv;
}

template <class B>
nn::conv2d<B> resnet_conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride) {
  return kaiming_fan_out(nn::conv2d<B>(in, out, {.kernel = kernel, .stride = stride, .padding = kernel / 2, .bias = false}),
                         out, kernel);
}

// Block `index` of a stage of `planes` (output width planes * expansion) fed by `in` channels.
template <class B, resnet_config C>
resnet_block_for<B, C> make_resnet_block(std::int64_t in, std::int64_t planes, std::int64_t stride) {
  using path_type = std::conditional_t<C.bottleneck, bottleneck_path<B>, basic_path<B>>;
  const std::int64_t out = planes * resnet_expansion(C);
  path_type path = [&] {
    if constexpr (C.bottleneck) {
      return path_type(resnet_conv<B>(in, planes, 1, 1), nn::batch_norm2d<B>(planes), nn::relu<B>{},
                       resnet_conv<B>(planes, planes, 3, stride), nn::batch_norm2d<B>(planes), nn::relu<B>{},
                       resnet_conv<B>(planes, out, 1, 1), nn::batch_norm2d<B>(out));
    } else {
      return path_type(resnet_conv<B>(in, planes, 3, stride), nn::batch_norm2d<B>(planes), nn::relu<B>{},
                       resnet_conv<B>(planes, planes, 3, 1), nn::batch_norm2d<B>(planes));
    }
  }();
  projection<B> shortcut;
  if (stride != 1 || in != out)
    shortcut.emplace(resnet_conv<B>(in, out, 1, stride), nn::batch_norm2d<B>(out));
  using residual_type = nn::residual<nn::named<"", path_type>, nn::named<"downsample", projection<B>>>;
  return resnet_block_for<B, C>(residual_type(std::move(path), std::move(shortcut)), nn::relu<B>{});
}

template <class B, resnet_config C, std::size_t Stage>
resnet_stage<B, C, Stage> make_resnet_stage() {
  const std::int64_t planes = C.width << Stage;
  const std::int64_t in = Stage == 0 ? C.width : (C.width << (Stage - 1)) * resnet_expansion(C);
  const std::int64_t stride = Stage == 0 ? 1 : 2;
  return resnet_stage<B, C, Stage>([&](std::size_t i) {
    return make_resnet_block<B, C>(i == 0 ? in : planes * resnet_expansion(C), planes, i == 0 ? stride : 1);
  });
}

}  // namespace detail

// torchvision.models.ResNet (v1.5: a Bottleneck's stride sits on its 3x3 convolution): conv1 (7x7, stride
// 2), bn1, relu, maxpool (3x3, stride 2), layer1 .. layer4, avgpool (global), fc. BatchNorm eps 1e-5. The
// penultimate features are avgpool's output (2048 values for ResNet-50).
//   in_channels 3: normalised RGB, exactly torchvision's network.
//   in_channels 1: gray on [0, 1]; conv1 folds in the replication to RGB and ImageNet's normalisation (its
//                  weight stays (64, 3, 7, 7), so RGB weight files load unchanged).
// Parameters are initialised by nn::initialize(net, seed) with torchvision's rules (zero_init_residual off).
template <class B, resnet_config Config>
class resnet : public classifier<detail::resnet_body<B, Config>, "fc"> {
  static_assert(detail::resnet_valid(Config), "resnet<B, Config>: every stage needs at least one block, and width > 0");
  using base = classifier<detail::resnet_body<B, Config>, "fc">;

 public:
  explicit resnet(std::int64_t num_classes = 1000, std::int64_t in_channels = 3)
      : base(detail::resnet_name(Config), [&] { return make_body(in_channels); },
             Config.width * 8 * detail::resnet_expansion(Config), num_classes, in_channels, 1) {}

  static constexpr resnet_config config = Config;

  nn::input_conv2d<B>& first_layer() { return this->body().template get<0>(); }
  void set_input_gradient(bool on) { first_layer().set_input_gradient(on); }

 private:
  static detail::resnet_body<B, Config> make_body(std::int64_t in_channels) {
    require(in_channels == 1 || in_channels == 3, "resnet: in_channels ", in_channels,
            " must be 1 (gray, ImageNet normalisation folded into conv1) or 3 (normalised RGB)");
    nn::input_conv2d<B> conv1(3, Config.width, {.kernel = 7, .stride = 2, .padding = 3, .bias = false},
                              in_channels == 1 ? std::optional(imagenet::normalization(1)) : std::nullopt);
    return detail::resnet_body<B, Config>(
        detail::kaiming_fan_out(std::move(conv1), Config.width, 7), nn::batch_norm2d<B>(Config.width), nn::relu<B>{},
        nn::max_pool2d<B>({.kernel = 3, .stride = 2, .padding = 1}), detail::make_resnet_stage<B, Config, 0>(),
        detail::make_resnet_stage<B, Config, 1>(), detail::make_resnet_stage<B, Config, 2>(),
        detail::make_resnet_stage<B, Config, 3>(), nn::adaptive_avg_pool2d<B>(1), nn::flatten<B>{});
  }
};

template <class B>
using resnet50 = resnet<B, resnet50_config>;

}  // namespace models
FERGEN_END_NAMESPACE
