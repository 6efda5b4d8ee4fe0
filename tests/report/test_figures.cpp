// Tests of report/class_grid_figure.hpp: the layout (where each enlarged image lands, the label column, the title
// line), nearest-neighbour enlargement pixel for pixel, the default zoom, and bad input.
#include <fergen/report/class_grid_figure.hpp>

#include "support/errors.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace fergen;
using fergen::testing::contains;
using fergen::testing::error_of;

namespace {

// A gray image whose every pixel is distinct: value = seed + 3 y + x (mod 256), so a misplaced pixel shows.
data::image ramp(std::int64_t h, std::int64_t w, std::int64_t seed) {
  data::image img(1, h, w);
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x)
      img.at(0, y, x) = static_cast<float>((seed + 3 * y + x) % 256);
  return img;
}

bool any_dark(const data::image& img, std::int64_t x0, std::int64_t y0, std::int64_t w, std::int64_t h) {
  for (std::int64_t y = y0; y < y0 + h; ++y)
    for (std::int64_t x = x0; x < x0 + w; ++x)
      if (img.at(0, y, x) < 128) return true;
  return false;
}

}  // namespace

TEST_CASE("class_grid_figure: every image enlarged by nearest neighbour at its row and column, names on the left") {
  const std::int64_t h = 5, w = 4, zoom = 3, gap = 2;
  const std::vector<std::vector<data::image>> rows = {{ramp(h, w, 10), ramp(h, w, 40)}, {}, {ramp(h, w, 90)}};
  const std::vector<std::string> labels = {"happiness", "sadness", "fear"};
  const report::canvas c = report::class_grid_figure(rows, labels, {.zoom = zoom, .gap = gap});
  const data::image& img = c.image();

  const std::int64_t label_w = report::canvas::text_width("happiness");  // the longest label
  const std::int64_t left = gap + label_w + 2 * gap, top = gap;
  CHECK(img.channels == 3);
  CHECK(img.width == left + 2 * (w * zoom + gap));
  CHECK(img.height == top + 3 * (h * zoom + gap));

  for (std::size_t r = 0; r < rows.size(); ++r)
    for (std::size_t i = 0; i < rows[r].size(); ++i) {
      const std::int64_t x0 = left + static_cast<std::int64_t>(i) * (w * zoom + gap);
      const std::int64_t y0 = top + static_cast<std::int64_t>(r) * (h * zoom + gap);
      bool same = true;
      for (std::int64_t y = 0; y < h * zoom; ++y)
        for (std::int64_t x = 0; x < w * zoom; ++x)
          for (std::int64_t ch = 0; ch < 3; ++ch)
            same = same && img.at(ch, y0 + y, x0 + x) == rows[r][i].at(0, y / zoom, x / zoom);
      CHECK_MESSAGE(same, "row ", r, " image ", i);
    }
  // The empty row stays white where its images would be; every row has its name written left of it.
  const std::int64_t empty_y = top + (h * zoom + gap);
  CHECK_FALSE(any_dark(img, left, empty_y, w * zoom, h * zoom));
  for (std::int64_t r = 0; r < 3; ++r)
    CHECK_MESSAGE(any_dark(img, gap, top + r * (h * zoom + gap), label_w, h * zoom), "label of row ", r);
  // Gutters between tiles are white.
  CHECK_FALSE(any_dark(img, left + w * zoom, top, gap, h * zoom));
}

TEST_CASE("class_grid_figure: the default zoom makes tiles of at least 96 pixels; a title adds a line above") {
  CHECK(report::default_grid_zoom(32) == 3);
  CHECK(report::default_grid_zoom(48) == 2);
  CHECK(report::default_grid_zoom(96) == 1);
  CHECK(report::default_grid_zoom(160) == 1);
  CHECK(report::default_grid_zoom(40) == 3);

  const std::vector<std::vector<data::image>> rows = {{ramp(32, 32, 0)}};
  const auto plain = report::class_grid_figure(rows, {"x"});
  const auto titled = report::class_grid_figure(rows, {"x"}, {.title = "ddim, 50 steps"});
  CHECK(plain.image().height == 4 + 96 + 4);
  CHECK(titled.image().height == plain.image().height + report::canvas::glyph_height + 8);
  CHECK(any_dark(titled.image(), 4, 4, report::canvas::text_width("ddim, 50 steps"), report::canvas::glyph_height));
}

TEST_CASE("class_grid_figure: RGB images keep their colours") {
  data::image red(3, 2, 2);
  for (std::int64_t y = 0; y < 2; ++y)
    for (std::int64_t x = 0; x < 2; ++x) red.at(0, y, x) = 200, red.at(1, y, x) = 10, red.at(2, y, x) = 20;
  const auto c = report::class_grid_figure({{red}}, {""}, {.zoom = 2, .gap = 1});
  CHECK(c.image().width == 1 + 4 + 1);  // no label column for empty names
  CHECK(c.image().at(0, 1, 1) == 200);
  CHECK(c.image().at(1, 4, 4) == 10);
  CHECK(c.image().at(2, 2, 3) == 20);
}

TEST_CASE("class_grid_figure: bad input is an error naming what is wrong") {
  const auto a = ramp(4, 4, 0);
  CHECK(contains(error_of([&] { report::class_grid_figure({{a}, {a}}, {"one"}); }), "2 rows for 1 labels"));
  CHECK(contains(error_of([&] { report::class_grid_figure({}, {}); }), "0 rows for 0 labels"));
  CHECK(contains(error_of([&] { report::class_grid_figure({{}, {}}, {"a", "b"}); }), "no images in any of the 2 rows"));
  CHECK(contains(error_of([&] { report::class_grid_figure({{a}, {a, ramp(5, 4, 0)}}, {"a", "b"}); }),
                 "image 1 of row 'b' is 1x5x4, the first image 1x4x4"));
  CHECK(contains(error_of([&] { report::class_grid_figure({{a}}, {"a"}, {.zoom = -1}); }), "must not be negative"));
  data::image broken = a;
  broken.pixels.pop_back();
  CHECK(contains(error_of([&] { report::class_grid_figure({{broken}}, {"a"}); }), "class_grid_figure"));
}
