// fergen/data/color.hpp: converting between grayscale and RGB images.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/image.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace data {

// ITU-R BT.601 luma, the weights PIL's convert('L') and torchvision's rgb_to_grayscale use (PIL in 16-bit
// fixed point and rounded to integers; here without rounding, because images stay on a continuous [0, 255]
// scale until they are written). Evaluated in double so each result is the float nearest the formula.
inline constexpr double luma_r = 0.299;
inline constexpr double luma_g = 0.587;
inline constexpr double luma_b = 0.114;

// 3 channels (R, G, B) -> 1 channel of 0.299 R + 0.587 G + 0.114 B; a 1-channel image comes back unchanged
// (a copy). Other channel counts are an error: there is no single right answer for them.
inline image to_grayscale(const image& img) {
  require_consistent(img, "to_grayscale");
  if (img.channels == 1) return img;
  require(img.channels == 3, "to_grayscale: image ", img.channels, " x ", img.height, " x ", img.width, " has ",
          img.channels, " channels; only 1 (gray) or 3 (RGB) are supported");
  image out(1, img.height, img.width);
  const std::int64_t n = img.plane();
  const float* r = img.channel(0);
  const float* g = img.channel(1);
  const float* b = img.channel(2);
  float* y = out.channel(0);
  for (std::int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(luma_r * r[i] + luma_g * g[i] + luma_b * b[i]);
  return out;
}

// 1 channel -> 3 equal channels (what PIL's convert('RGB') does to an 'L' image); 3 channels: a copy.
inline image to_rgb(const image& img) {
  require_consistent(img, "to_rgb");
  if (img.channels == 3) return img;
  require(img.channels == 1, "to_rgb: image ", img.channels, " x ", img.height, " x ", img.width, " has ",
          img.channels, " channels; only 1 (gray) or 3 (RGB) are supported");
  image out;
  out.channels = 3;
  out.height = img.height;
  out.width = img.width;
  out.pixels.reserve(img.pixels.size() * 3);
  for (int c = 0; c < 3; ++c) out.pixels.insert(out.pixels.end(), img.pixels.begin(), img.pixels.end());
  return out;
}

}  // namespace data
FERGEN_END_NAMESPACE
