// fergen/models/backbones.hpp: the study's three backbones by name, in torchvision's size or a small one.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/models/backbone_names.hpp>
#include <fergen/models/inception.hpp>
#include <fergen/models/resnet.hpp>
#include <fergen/models/vgg.hpp>

#include <cstdint>
#include <optional>
#include <string>

FERGEN_BEGIN_NAMESPACE
namespace models {

// The small presets. VGG: 8 convolutions of 16-128 channels in VGG-16's five pooled stages, with BatchNorm,
// a 256-wide classifier on a 1x1 pool, initialised to unit gain (vgg_linear_init::kaiming). ResNet: one Bottleneck per stage at width 16 (512 features). Inception: every
// width of Inception-V3 divided by 8 (256 features), all its blocks.
inline constexpr vgg_config vgg_small_config{.layers = {16, vgg_max_pool, 32, vgg_max_pool, 64, 64, vgg_max_pool, 128,
                                                        128, vgg_max_pool, 128, 128, vgg_max_pool},
                                             .batch_norm = true,
                                             .hidden = 256,
                                             .pool = 1,
                                             .linear_init = vgg_linear_init::kaiming};
inline constexpr resnet_config resnet_small_config{.layers = {1, 1, 1, 1}, .width = 16};
inline constexpr inception_config inception_small_config{.divisor = 8};

template <class B>
using vgg_small = vgg<B, vgg_small_config>;
template <class B>
using resnet_small = resnet<B, resnet_small_config>;
template <class B>
using inception_small = inception<B, inception_small_config>;

struct backbone_options {
  std::int64_t num_classes = 7;
  std::int64_t in_channels = 3;  // 3: normalised RGB; 1: gray, ImageNet's normalisation folded in
  double dropout = 0.5;          // VGG's classifier and Inception's head
  bool aux_logits = false;       // Inception: the auxiliary head (inputs of 299x299 in training)
  // Inception: torchvision's transform_input. Default: on in full size (what torchvision's ImageNet weights
  // expect), off in the small size (trained from scratch, it would only rescale the input).
  std::optional<bool> transform_input{};
};

// Builds the backbone and calls f(net) with it, as the concrete type (every branch instantiates f; they must
// all return the same type):
//   with_backbone<cpu<float>>(backbone::resnet50, backbone_size::small, {.num_classes = 7}, [&](auto& net) {
//     nn::initialize(net, seed);
//     return eval::train_classifier(net, train, &test, options);
//   });
template <class B, class F>
decltype(auto) with_backbone(backbone b, backbone_size s, const backbone_options& o, F&& f) {
  const bool transform = o.transform_input.value_or(s == backbone_size::full);
  const inception_options io{.aux_logits = o.aux_logits, .transform_input = transform, .dropout = o.dropout};
  require(!o.aux_logits || b == backbone::inception_v3, "with_backbone: aux_logits is an option of inception_v3, not ",
          to_string(b));
  if (s == backbone_size::full) {
    switch (b) {
      case backbone::vgg16: {
        vgg16<B> net(o.num_classes, o.in_channels, {.dropout = o.dropout});
        return f(net);
      }
      case backbone::resnet50: {
        resnet50<B> net(o.num_classes, o.in_channels);
        return f(net);
      }
      case backbone::inception_v3: break;
    }
    inception_v3<B> net(o.num_classes, o.in_channels, io);
    return f(net);
  }
  switch (b) {
    case backbone::vgg16: {
      vgg_small<B> net(o.num_classes, o.in_channels, {.dropout = o.dropout});
      net.rename("vgg16_small");
      return f(net);
    }
    case backbone::resnet50: {
      resnet_small<B> net(o.num_classes, o.in_channels);
      net.rename("resnet50_small");
      return f(net);
    }
    case backbone::inception_v3: break;
  }
  inception_small<B> net(o.num_classes, o.in_channels, io);
  net.rename("inception_v3_small");
  return f(net);
}

}  // namespace models
FERGEN_END_NAMESPACE
