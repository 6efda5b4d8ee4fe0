// fergen/augment/transform.hpp: the parameters of one Keras ImageDataGenerator transformation, the matrix
// Keras builds from them, and their application in Keras' fixed stage order.
#pragma once

#include <fergen/augment/affine.hpp>
#include <fergen/augment/fill_mode.hpp>
#include <fergen/core/error.hpp>
#include <fergen/data/image.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <ostream>

FERGEN_BEGIN_NAMESPACE
namespace augment {

// Exact parameters, as ImageDataGenerator.get_random_transform returns them (plus the generator's fill mode,
// cval and rescale, so that one value says everything apply needs). The defaults change nothing.
struct transform {
  double rotation = 0;     // theta, degrees
  double shift_rows = 0;   // tx, pixels: Keras' tx moves rows (its "height shift")
  double shift_cols = 0;   // ty, pixels
  double zoom_rows = 1;    // zx, scales the row coordinate of the source (> 1 shows more: zooms out)
  double zoom_cols = 1;    // zy
  bool flip_h = false;     // columns reversed, after the warp
  bool flip_v = false;     // rows reversed, after the horizontal flip
  double brightness = 1;   // x * brightness clipped to [0, 255]; exactly 1 skips the stage (and its clip)
  fill_mode fill = fill_mode::nearest;  // Keras' default
  float cval = 0;          // the fill value of fill_mode::constant, on the [0, 255] scale
  double rescale = 1;      // final x * rescale (Keras' standardize); 1 skips it

  friend bool operator==(const transform&, const transform&) = default;
};

inline std::ostream& operator<<(std::ostream& out, const transform& t) {
  return out << "{rotation " << t.rotation << ", shift_rows " << t.shift_rows << ", shift_cols " << t.shift_cols
             << ", zoom_rows " << t.zoom_rows << ", zoom_cols " << t.zoom_cols << ", flip_h " << t.flip_h
             << ", flip_v " << t.flip_v << ", brightness " << t.brightness << ", fill " << t.fill << ", cval "
             << t.cval << ", rescale " << t.rescale << "}";
}

// Keras' own test: the warp runs only when some geometric parameter differs from the identity, so identity
// parameters give the input back bit for bit, whatever the fill mode.
inline bool has_geometry(const transform& t) {
  return t.rotation != 0 || t.shift_rows != 0 || t.shift_cols != 0 || t.zoom_rows != 1 || t.zoom_cols != 1;
}

// Every parameter finite; zoom and rescale usable; shifts small enough that the warp's coordinates stay
// far inside double precision. Errors name the parameter and its value.
inline void validate(const transform& t) {
  const auto finite = [&](double v, const char* name) {
    require(std::isfinite(v), "augment::transform: ", name, " ", v, " is not finite");
  };
  finite(t.rotation, "rotation");
  finite(t.shift_rows, "shift_rows");
  finite(t.shift_cols, "shift_cols");
  finite(t.zoom_rows, "zoom_rows");
  finite(t.zoom_cols, "zoom_cols");
  finite(t.brightness, "brightness");
  finite(t.cval, "cval");
  finite(t.rescale, "rescale");
  constexpr double max_shift = 1e9, max_zoom = 1e6;
  require(std::abs(t.shift_rows) <= max_shift, "augment::transform: shift_rows ", t.shift_rows,
          " pixels is beyond +-", max_shift);
  require(std::abs(t.shift_cols) <= max_shift, "augment::transform: shift_cols ", t.shift_cols,
          " pixels is beyond +-", max_shift);
  require(t.zoom_rows > 0 && t.zoom_rows <= max_zoom, "augment::transform: zoom_rows ", t.zoom_rows,
          " is not in (0, ", max_zoom, "]");
  require(t.zoom_cols > 0 && t.zoom_cols <= max_zoom, "augment::transform: zoom_cols ", t.zoom_cols,
          " is not in (0, ", max_zoom, "]");
  require(t.brightness >= 0, "augment::transform: brightness ", t.brightness, " is negative");
  require(t.rescale != 0, "augment::transform: rescale 0 would erase the image (1 means no rescaling)");
  require(is_valid(t.fill), "augment::transform: fill ", t.fill, " is not one of ", valid_fill_modes);
}

namespace detail {

using matrix3 = std::array<std::array<double, 3>, 3>;

// numpy's np.dot of Keras is not reproducible at the last bit (the BLAS may fuse multiply-adds or reorder),
// and at 90 or 180 degrees that last bit decides whether a border pixel is cval under 'constant' or the
// opposite edge under 'wrap'. fergen fixes one order, the reference fixture uses the same: each entry is
// ((0 + a0 b0) + a1 b1) + a2 b2 with every product rounded before it is added. The volatile store keeps a
// compiler targeting FMA hardware from fusing them; 27 products per image cost nothing.
inline matrix3 multiply(const matrix3& a, const matrix3& b) {
  matrix3 c{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double sum = 0.0;
      for (int k = 0; k < 3; ++k) {
        volatile double product = a[i][k] * b[k][j];
        sum += product;
      }
      c[i][j] = sum;
    }
  return c;
}

}  // namespace detail

// Keras' apply_affine_transform matrix for an image of height x width: rotation @ shift @ zoom (each factor
// only when it is not the identity, as Keras), moved to the centre by transform_matrix_offset_center with
// o = size / 2 - 0.5, the true centre (Keras 2.x; older copies of the function use + 0.5, a one-pixel bias).
// The angle goes through std::cos and std::sin of theta * (pi / 180), numpy's deg2rad, in double.
inline affine_matrix keras_matrix(const transform& t, std::int64_t height, std::int64_t width) {
  require(height > 0 && width > 0, "augment::keras_matrix: image size ", height, " x ", width, " is not positive");
  using detail::matrix3;
  bool any = false;
  matrix3 m{{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}};
  if (t.rotation != 0) {
    const double theta = t.rotation * (std::numbers::pi / 180.0);
    const double c = std::cos(theta), s = std::sin(theta);
    m = matrix3{{{c, -s, 0}, {s, c, 0}, {0, 0, 1}}};
    any = true;
  }
  if (t.shift_rows != 0 || t.shift_cols != 0) {
    const matrix3 shift{{{1, 0, t.shift_rows}, {0, 1, t.shift_cols}, {0, 0, 1}}};
    m = any ? detail::multiply(m, shift) : shift;
    any = true;
  }
  if (t.zoom_rows != 1 || t.zoom_cols != 1) {
    const matrix3 zoom{{{t.zoom_rows, 0, 0}, {0, t.zoom_cols, 0}, {0, 0, 1}}};
    m = any ? detail::multiply(m, zoom) : zoom;
    any = true;
  }
  const double o_x = static_cast<double>(height) / 2 - 0.5;
  const double o_y = static_cast<double>(width) / 2 - 0.5;
  const matrix3 offset{{{1, 0, o_x}, {0, 1, o_y}, {0, 0, 1}}};
  const matrix3 reset{{{1, 0, -o_x}, {0, 1, -o_y}, {0, 0, 1}}};
  const matrix3 centred = detail::multiply(detail::multiply(offset, m), reset);
  affine_matrix out;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) out.m[i][j] = centred[i][j];
  return out;
}

// ImageDataGenerator.apply_transform followed by standardize's rescale, in Keras' fixed order whatever order
// the options were given in: one warp (skipped when has_geometry is false), horizontal flip, vertical flip,
// brightness (x * b clipped to [0, 255]), rescale. All stages run in one pass over the output: each row of
// the warp goes through the photometric stages straight into its flipped place.
//
// Keras' brightness goes through PIL (ImageEnhance.Brightness on a uint8 image), which also rounds to whole
// levels; fergen keeps the float value, the design's "no quantisation between steps".
inline data::image apply(const data::image& img, const transform& t) {
  validate(t);
  require(!img.empty() && img.size() == static_cast<std::int64_t>(img.pixels.size()), "augment::apply: image ",
          img.channels, " x ", img.height, " x ", img.width, " with ", img.pixels.size(),
          " values is empty or inconsistent");
  if (!has_geometry(t) && !t.flip_h && !t.flip_v && t.brightness == 1 && t.rescale == 1) return img;

  data::image out;
  out.channels = img.channels;
  out.height = img.height;
  out.width = img.width;
  out.pixels.resize(img.pixels.size());
  const std::int64_t h = img.height, w = img.width;
  const bool brighten = t.brightness != 1, scale = t.rescale != 1;
  const double b = t.brightness, factor = t.rescale;
  // One finished row of the warp (or of the input, when there is no warp) goes through the photometric
  // stages into its vertically flipped place, then is reversed there for the horizontal flip: one loop per
  // combination of stages, over contiguous memory.
  const auto sink = [&](std::int64_t ch, std::int64_t r, const float* values) {
    float* dst = out.pixels.data() + (ch * h + (t.flip_v ? h - 1 - r : r)) * w;
    // numpy's clip: a NaN stays NaN.
    const auto bright = [b](float v) {
      double x = static_cast<double>(v) * b;
      x = x < 0.0 ? 0.0 : x;
      x = x > 255.0 ? 255.0 : x;
      return static_cast<float>(x);
    };
    const auto scaled = [factor](float v) { return static_cast<float>(static_cast<double>(v) * factor); };
    if (brighten && scale) {
      for (std::int64_t c = 0; c < w; ++c) dst[c] = scaled(bright(values[c]));
    } else if (brighten) {
      for (std::int64_t c = 0; c < w; ++c) dst[c] = bright(values[c]);
    } else if (scale) {
      for (std::int64_t c = 0; c < w; ++c) dst[c] = scaled(values[c]);
    } else {
      std::copy(values, values + w, dst);
    }
    if (t.flip_h) std::reverse(dst, dst + w);
  };
  if (has_geometry(t)) {
    warp_affine_rows(img, keras_matrix(t, h, w), t.fill, t.cval, sink);
  } else {
    for (std::int64_t ch = 0; ch < img.channels; ++ch)
      for (std::int64_t r = 0; r < h; ++r) sink(ch, r, img.pixels.data() + (ch * h + r) * w);
  }
  return out;
}

}  // namespace augment
FERGEN_END_NAMESPACE
