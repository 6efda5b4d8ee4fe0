// fergen/diffusion/image_tensors.hpp: 8-bit images <-> the [-1, 1] tensors diffusion models see, and sample
// grids.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/shape.hpp>
#include <fergen/core/tensor.hpp>
#include <fergen/data/image.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

// Pixel values on [0, 255] map to x = v / 127.5 - 1 on [-1, 1] (DDPM's data scaling).
inline float to_model_range(float v) { return v / 127.5f - 1.0f; }

// x on [-1, 1] back to an 8-bit level: clipped, then rounded, so that an image in memory is exactly what its
// PNG holds and what reading the PNG back gives.
inline float to_pixel_level(double x) { return static_cast<float>(std::nearbyint(std::clamp((x + 1.0) * 127.5, 0.0, 255.0))); }

// A batch [N, C, H, W] from images of one shape; flip[i] mirrors image i left-right (training augmentation).
template <class B>
tensor<B> batch_from_images(std::span<const data::image* const> images, std::span<const bool> flip = {}) {
  require(!images.empty(), "batch_from_images: no images");
  const data::image& first = *images.front();
  const shape s{static_cast<std::int64_t>(images.size()), first.channels, first.height, first.width};
  std::vector<typename B::value_type> values(static_cast<std::size_t>(s.size()));
  for (std::size_t i = 0; i < images.size(); ++i) {
    const data::image& img = *images[i];
    data::require_consistent(img, "batch_from_images");
    require(img.channels == s.c && img.height == s.h && img.width == s.w, "batch_from_images: image ", i, " is ",
            img.channels, " x ", img.height, " x ", img.width, ", the batch ", s.c, " x ", s.h, " x ", s.w);
    const bool mirror = !flip.empty() && flip[i];
    auto* out = values.data() + static_cast<std::int64_t>(i) * s.per_sample();
    for (std::int64_t c = 0; c < s.c; ++c)
      for (std::int64_t y = 0; y < s.h; ++y)
        for (std::int64_t x = 0; x < s.w; ++x)
          out[(c * s.h + y) * s.w + x] = static_cast<typename B::value_type>(to_model_range(img.at(c, y, mirror ? s.w - 1 - x : x)));
  }
  // A host transfer, part of every backend's tensor (core/tensor.hpp).
  tensor<B> t = tensor<B>::uninitialized(s);
  t.copy_from(values);
  return t;
}

// The images of a batch [N, C, H, W] on [-1, 1], as 8-bit-level images.
template <class B>
std::vector<data::image> images_from_batch(const tensor<B>& batch) {
  const shape s = batch.shape();
  std::vector<typename B::value_type> values(static_cast<std::size_t>(s.size()));
  batch.copy_to(values);
  std::vector<data::image> out;
  out.reserve(static_cast<std::size_t>(s.n));
  for (std::int64_t n = 0; n < s.n; ++n) {
    data::image img(s.c, s.h, s.w);
    for (std::int64_t i = 0; i < s.per_sample(); ++i)
      img.pixels[static_cast<std::size_t>(i)] = to_pixel_level(static_cast<double>(values[static_cast<std::size_t>(n * s.per_sample() + i)]));
    out.push_back(std::move(img));
  }
  return out;
}

// Images of one shape laid out `columns` per row, separated by a gutter of mid-gray pixels.
inline data::image image_grid(const std::vector<data::image>& images, std::int64_t columns, std::int64_t gutter = 2) {
  require(!images.empty() && columns >= 1 && gutter >= 0, "image_grid: ", images.size(), " images in ", columns,
          " columns (need at least one of each)");
  const data::image& first = images.front();
  const auto count = static_cast<std::int64_t>(images.size());
  const std::int64_t rows = (count + columns - 1) / columns;
  data::image grid(first.channels, rows * first.height + (rows + 1) * gutter, columns * first.width + (columns + 1) * gutter,
                   128.0f);
  for (std::int64_t i = 0; i < count; ++i) {
    const data::image& img = images[static_cast<std::size_t>(i)];
    require(img.channels == first.channels && img.height == first.height && img.width == first.width,
            "image_grid: image ", i, " differs in shape from image 0");
    const std::int64_t top = gutter + (i / columns) * (first.height + gutter);
    const std::int64_t left = gutter + (i % columns) * (first.width + gutter);
    for (std::int64_t c = 0; c < img.channels; ++c)
      for (std::int64_t y = 0; y < img.height; ++y)
        for (std::int64_t x = 0; x < img.width; ++x) grid.at(c, top + y, left + x) = img.at(c, y, x);
  }
  return grid;
}

}  // namespace diffusion
FERGEN_END_NAMESPACE
