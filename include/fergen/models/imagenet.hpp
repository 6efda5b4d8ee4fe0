// fergen/models/imagenet.hpp: the input statistics torchvision's ImageNet weights were trained with.
#pragma once

#include <fergen/backend/channel_affine.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/channel_affine.hpp>
#include <fergen/core/error.hpp>
#include <fergen/nn/input_conv2d.hpp>

#include <array>
#include <cstdint>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace models::imagenet {

// Per RGB channel, on images scaled to [0, 1]: torchvision's Normalize(mean, std) for every ImageNet model.
inline constexpr std::array<double, 3> mean{0.485, 0.456, 0.406};
inline constexpr std::array<double, 3> stddev{0.229, 0.224, 0.225};

// The map from a [0, 1] image of in_channels (3: RGB; 1: gray, replicated into R, G and B) to the normalised
// RGB input the weights expect: v_c = (x_c - mean_c) / std_c, or (g - mean_c) / std_c for a gray g.
inline nn::input_map normalization(std::int64_t in_channels) {
  require(in_channels == 1 || in_channels == 3, "imagenet::normalization: in_channels ", in_channels,
          " must be 1 (gray, replicated to RGB) or 3 (RGB)");
  nn::input_map m{in_channels, 3, std::vector<double>(static_cast<std::size_t>(3 * in_channels), 0.0),
                  std::vector<double>(3, 0.0)};
  for (std::size_t c = 0; c < 3; ++c) {
    m.scale[in_channels == 1 ? c : c * 3 + c] = 1.0 / stddev[c];
    m.shift[c] = -mean[c] / stddev[c];
  }
  return m;
}

// torchvision's Inception3 transform_input: its ImageNet weights came from TensorFlow, trained on
// (x - 0.5) / 0.5, and the model turns a torchvision-normalised input back into that:
// x_c * (std_c / 0.5) + (mean_c - 0.5) / 0.5.
inline nn::input_map inception_transform() {
  std::vector<double> scale(3), shift(3);
  for (std::size_t c = 0; c < 3; ++c) {
    scale[c] = stddev[c] / 0.5;
    shift[c] = (mean[c] - 0.5) / 0.5;
  }
  return nn::input_map::diagonal(scale, shift);
}

// x [N, C, H, W] on [0, 1] -> the normalised RGB batch a 3-channel backbone takes (a gray batch is
// replicated into R, G and B on the way). This is what the 1-channel backbones fold into their first
// convolution; feeding them the raw gray batch gives the same logits.
template <class B>
tensor<B> normalize(context<B>& ctx, const tensor<B>& x) {
  const nn::input_map m = normalization(x.shape().c);
  return ops::channel_affine<B>::forward(ctx, x, ops::channel_map{3, m.in_channels, m.scale, m.shift});
}

}  // namespace models::imagenet
FERGEN_END_NAMESPACE
