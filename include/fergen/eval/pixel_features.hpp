// fergen/eval/pixel_features.hpp: a dataset's gray pixels as feature rows, the space in which copying a
// training image (memorisation) is measured.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/dataset_view.hpp>
#include <fergen/data/resize.hpp>
#include <fergen/eval/feature_matrix.hpp>

#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace eval {

// One row per image: its size x size gray pixels scaled to [0, 1], resized (bilinear, antialiased) where the
// image has another size, so sets rendered at different sizes compare.
inline feature_matrix pixel_features(const data::dataset_view& ds, std::int64_t size) {
  require(size > 0, "pixel_features: size must be positive, got ", size);
  feature_matrix f(ds.size(), size * size);
  for (std::int64_t i = 0; i < ds.size(); ++i) {
    data::image img = ds[i].image;
    require(img.channels == 1, "pixel_features: image ", i, " (", ds[i].source, ") has ", img.channels,
            " channels; gray images are expected");
    if (img.height != size || img.width != size) img = data::resize_bilinear(img, size, size);
    for (std::int64_t p = 0; p < size * size; ++p)
      f.values[static_cast<std::size_t>(i * size * size + p)] = img.pixels[static_cast<std::size_t>(p)] / 255.0;
  }
  return f;
}

}  // namespace eval
FERGEN_END_NAMESPACE
