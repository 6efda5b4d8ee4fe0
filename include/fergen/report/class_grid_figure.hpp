// fergen/report/class_grid_figure.hpp: images in rows, one row per class and the class name left of it, each image
// enlarged by whole pixels (nearest neighbour) so that a 32x32 or 48x48 generated face can be read on a screen.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/image.hpp>
#include <fergen/report/canvas.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace report {

struct class_grid_options {
  std::int64_t zoom = 0;          // pixels per image pixel; 0: the smallest that makes tiles at least 96 pixels high
  std::int64_t gap = 4;           // white pixels between tiles
  std::string title = {};         // a line above the grid; empty: none
};

// The zoom `options.zoom = 0` picks for images of this height.
inline std::int64_t default_grid_zoom(std::int64_t image_height) {
  return std::max<std::int64_t>(1, (96 + image_height - 1) / std::max<std::int64_t>(image_height, 1));
}

// rows[k]: the images of class labels[k] (any number, an empty row stays blank). All images share one shape, gray
// or RGB, values 0..255.
inline canvas class_grid_figure(const std::vector<std::vector<data::image>>& rows,
                                const std::vector<std::string>& labels, const class_grid_options& options = {}) {
  require(!rows.empty() && rows.size() == labels.size(), "class_grid_figure: ", rows.size(), " rows for ",
          labels.size(), " labels (need one label per row, at least one row)");
  require(options.zoom >= 0 && options.gap >= 0, "class_grid_figure: zoom ", options.zoom, " and gap ", options.gap,
          " must not be negative");
  const data::image* first = nullptr;
  std::size_t columns = 0;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    columns = std::max(columns, rows[r].size());
    for (std::size_t i = 0; i < rows[r].size(); ++i) {
      const data::image& img = rows[r][i];
      data::require_consistent(img, "class_grid_figure");
      if (!first) first = &img;
      require(img.channels == first->channels && img.height == first->height && img.width == first->width,
              "class_grid_figure: image ", i, " of row '", labels[r], "' is ", img.channels, "x", img.height, "x",
              img.width, ", the first image ", first->channels, "x", first->height, "x", first->width);
    }
  }
  require(first != nullptr, "class_grid_figure: no images in any of the ", rows.size(), " rows");

  const std::int64_t zoom = options.zoom > 0 ? options.zoom : default_grid_zoom(first->height);
  const std::int64_t tile_w = first->width * zoom, tile_h = first->height * zoom, gap = options.gap;
  std::int64_t label_w = 0;
  for (const auto& l : labels) label_w = std::max(label_w, canvas::text_width(l));
  const std::int64_t left = gap + label_w + (label_w > 0 ? 2 * gap : 0);
  const std::int64_t top = gap + (options.title.empty() ? 0 : canvas::glyph_height + 2 * gap);
  const auto cols = static_cast<std::int64_t>(columns), nrows = static_cast<std::int64_t>(rows.size());
  canvas c(std::max(left + cols * (tile_w + gap), 2 * gap + canvas::text_width(options.title)),
           top + nrows * (tile_h + gap));
  if (!options.title.empty()) c.text(gap, gap, options.title);

  for (std::int64_t r = 0; r < nrows; ++r) {
    const std::int64_t y = top + r * (tile_h + gap);
    c.text(gap, y + (tile_h - canvas::glyph_height) / 2, labels[static_cast<std::size_t>(r)]);
    const auto& row = rows[static_cast<std::size_t>(r)];
    for (std::size_t i = 0; i < row.size(); ++i)
      c.blit(row[i], left + static_cast<std::int64_t>(i) * (tile_w + gap), y, zoom);
  }
  return c;
}

}  // namespace report
FERGEN_END_NAMESPACE
