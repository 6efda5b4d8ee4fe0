// fergen/data/image.hpp: a decoded image in memory, the unit every loader, transform and policy works on.
#pragma once

#include <fergen/core/error.hpp>

#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace data {

// Planar (channel-major, like the tensors) float values on the 8-bit scale [0, 255]: loaders decode into
// it, transforms compute in float without quantising between steps, and augmentation follows Keras, whose
// brightness clips to [0, 255] before rescaling. Grayscale images have one channel, colour images three
// (R, G, B).
struct image {
  std::int64_t channels = 0;
  std::int64_t height = 0;
  std::int64_t width = 0;
  std::vector<float> pixels;  // channels x height x width

  image() = default;
  image(std::int64_t c, std::int64_t h, std::int64_t w, float fill = 0.0f) : channels(c), height(h), width(w) {
    require(c > 0 && h > 0 && w > 0, "image: ", c, " x ", h, " x ", w, " has a dimension that is not positive");
    pixels.assign(static_cast<std::size_t>(c * h * w), fill);
  }

  std::int64_t size() const { return channels * height * width; }
  bool empty() const { return pixels.empty(); }
  std::int64_t plane() const { return height * width; }

  float& at(std::int64_t c, std::int64_t y, std::int64_t x) {
    return pixels[static_cast<std::size_t>((c * height + y) * width + x)];
  }
  float at(std::int64_t c, std::int64_t y, std::int64_t x) const {
    return pixels[static_cast<std::size_t>((c * height + y) * width + x)];
  }
  float* channel(std::int64_t c) { return pixels.data() + c * plane(); }
  const float* channel(std::int64_t c) const { return pixels.data() + c * plane(); }

  friend bool operator==(const image&, const image&) = default;
};

// image is a plain struct whose fields anyone can set, so every entry point that indexes pixels checks
// first that the numbers agree: a mismatch would otherwise be an out-of-bounds read. `what` names the caller.
inline void require_consistent(const image& img, std::string_view what) {
  const bool positive = img.channels > 0 && img.height > 0 && img.width > 0;
  const bool fits = positive && img.height <= std::numeric_limits<std::int64_t>::max() / img.width &&
                    img.channels <= std::numeric_limits<std::int64_t>::max() / (img.height * img.width);
  if (!fits || static_cast<std::uint64_t>(img.size()) != img.pixels.size())
    fail(what, ": image ", img.channels, " x ", img.height, " x ", img.width, " holds ", img.pixels.size(),
         " values; it is empty or its dimensions do not match its pixels");
}

}  // namespace data
FERGEN_END_NAMESPACE
