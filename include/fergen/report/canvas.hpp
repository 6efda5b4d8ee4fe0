// fergen/report/canvas.hpp: a small RGB raster for the PNG figures of reports (confusion matrices, image
// grids), with filled rectangles, blitted images and text from the built-in bitmap font.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/image.hpp>
#include <fergen/data/image_io.hpp>
#include <fergen/report/bitmap_font_data.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace report {

struct rgb {
  float r = 0, g = 0, b = 0;  // 0..255
};

inline constexpr rgb white{255, 255, 255};
inline constexpr rgb black{0, 0, 0};

// Linear blend: t = 0 gives a, t = 1 gives b.
inline rgb mix(rgb a, rgb b, double t) {
  const auto f = static_cast<float>(std::clamp(t, 0.0, 1.0));
  return {a.r + (b.r - a.r) * f, a.g + (b.g - a.g) * f, a.b + (b.b - a.b) * f};
}

// Drawing clips at the borders: a label that does not fit is cut, never an out-of-bounds write.
class canvas {
 public:
  canvas(std::int64_t width, std::int64_t height, rgb background = white) : img_(3, height, width) {
    fill_rect(0, 0, width, height, background);
  }

  std::int64_t width() const { return img_.width; }
  std::int64_t height() const { return img_.height; }
  const data::image& image() const { return img_; }

  void set(std::int64_t x, std::int64_t y, rgb c, double alpha = 1.0) {
    if (x < 0 || y < 0 || x >= img_.width || y >= img_.height) return;
    const auto a = static_cast<float>(alpha);
    float* px[3] = {&img_.at(0, y, x), &img_.at(1, y, x), &img_.at(2, y, x)};
    const float v[3] = {c.r, c.g, c.b};
    for (int k = 0; k < 3; ++k) *px[k] += (v[k] - *px[k]) * a;
  }

  void fill_rect(std::int64_t x, std::int64_t y, std::int64_t w, std::int64_t h, rgb c) {
    for (std::int64_t yy = std::max<std::int64_t>(y, 0); yy < std::min(y + h, img_.height); ++yy)
      for (std::int64_t xx = std::max<std::int64_t>(x, 0); xx < std::min(x + w, img_.width); ++xx) set(xx, yy, c);
  }

  // Copies an image (gray or RGB, values 0..255) with its top-left corner at (x, y), each pixel drawn as a
  // scale x scale square (nearest-neighbour enlargement, so small images stay sharp).
  void blit(const data::image& src, std::int64_t x, std::int64_t y, std::int64_t scale = 1) {
    data::require_consistent(src, "canvas::blit");
    require(src.channels == 1 || src.channels == 3, "canvas::blit: images need 1 or 3 channels, got ", src.channels);
    require(scale >= 1, "canvas::blit: scale ", scale, " must be at least 1");
    for (std::int64_t yy = 0; yy < src.height; ++yy)
      for (std::int64_t xx = 0; xx < src.width; ++xx) {
        const float r = src.at(0, yy, xx);
        const float g = src.channels == 3 ? src.at(1, yy, xx) : r;
        const float b = src.channels == 3 ? src.at(2, yy, xx) : r;
        fill_rect(x + xx * scale, y + yy * scale, scale, scale,
                  {std::clamp(r, 0.f, 255.f), std::clamp(g, 0.f, 255.f), std::clamp(b, 0.f, 255.f)});
      }
  }

  static constexpr std::int64_t glyph_width = detail::glyph_width;
  static constexpr std::int64_t glyph_height = detail::glyph_height;

  static std::int64_t text_width(std::string_view text) { return static_cast<std::int64_t>(text.size()) * glyph_width; }

  // Text with its top-left corner at (x, y); characters outside printable ASCII show as '?'.
  void text(std::int64_t x, std::int64_t y, std::string_view s, rgb c = black) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      const unsigned char ch = static_cast<unsigned char>(s[i]);
      const char* glyph = detail::glyphs[(ch >= 32 && ch < 127 ? ch : '?') - 32];
      const std::int64_t left = x + static_cast<std::int64_t>(i) * glyph_width;
      for (std::int64_t gy = 0; gy < glyph_height; ++gy)
        for (std::int64_t gx = 0; gx < glyph_width; ++gx) {
          const char h = glyph[gy * glyph_width + gx];
          const int coverage = h <= '9' ? h - '0' : h - 'a' + 10;
          if (coverage > 0) set(left + gx, y + gy, c, coverage / 15.0);
        }
    }
  }

  // Text centred in the box [x, x + w) x [y, y + h), cut to the characters that fit.
  void text_centered(std::int64_t x, std::int64_t y, std::int64_t w, std::int64_t h, std::string_view s,
                     rgb c = black) {
    const std::size_t fits = static_cast<std::size_t>(std::max<std::int64_t>(w / glyph_width, 0));
    if (s.size() > fits) s = s.substr(0, fits);
    text(x + (w - text_width(s)) / 2, y + (h - glyph_height) / 2, s, c);
  }

  std::vector<std::byte> png() const { return data::encode_png(img_); }

 private:
  data::image img_;
};

}  // namespace report
FERGEN_END_NAMESPACE
