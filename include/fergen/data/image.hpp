// fergen/data/image.hpp: a decoded image in memory, the unit every loader, transform and policy works on.
#pragma once

#include <fergen/core/error.hpp>

#include <cstdint>
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

}  // namespace data
FERGEN_END_NAMESPACE
