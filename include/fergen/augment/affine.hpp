// fergen/augment/affine.hpp: one bilinear affine resampling of an image, bit-for-bit scipy.ndimage's
// affine_transform(order=1) for the four fill modes Keras uses.
#pragma once

#include <fergen/augment/fill_mode.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/parallel.hpp>
#include <fergen/data/image.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ostream>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace augment {

// The pull map of a warp: output pixel (row, col) takes the input's value at
//   (m[0][0] row + m[0][1] col + m[0][2],  m[1][0] row + m[1][1] col + m[1][2]),
// the (matrix, offset) pair scipy.ndimage.affine_transform takes. Rows come first, as in numpy indexing.
struct affine_matrix {
  double m[2][3] = {{1.0, 0.0, 0.0}, {0.0, 1.0, 0.0}};

  friend bool operator==(const affine_matrix&, const affine_matrix&) = default;
};

inline std::ostream& operator<<(std::ostream& out, const affine_matrix& a) {
  return out << "[[" << a.m[0][0] << ", " << a.m[0][1] << ", " << a.m[0][2] << "], [" << a.m[1][0] << ", "
             << a.m[1][1] << ", " << a.m[1][2] << "]]";
}

namespace detail {

// scipy's map_coordinate (ndimage/src/ni_interpolation.c, 1.10) for the four modes, branch for branch and in
// the same floating-point order: a coordinate one ulp past n - 1 is cval under 'constant' and the first
// pixel under 'wrap', so "nearly the same" arithmetic would differ from scipy by whole pixel values.
// The casts truncate like C's (npy_intp); warp_affine bounds |in| first so they are defined.
inline double map_coordinate(double in, std::int64_t len, fill_mode mode) {
  const auto as_double = [](std::int64_t v) { return static_cast<double>(v); };
  if (in < 0) {
    switch (mode) {
      case fill_mode::reflect:
        if (len <= 1) return 0.0;
        {
          const std::int64_t sz2 = 2 * len;
          if (in < as_double(-sz2)) in = as_double(sz2 * static_cast<std::int64_t>(-in / as_double(sz2))) + in;
          // scipy clamps -1e-15 < in < 0 so that -in - 1 never rounds to exactly -1, which reads as "outside".
          in = in < as_double(-len) ? in + as_double(sz2) : (in > -1e-15 ? 1e-15 : -in) - 1;
        }
        return in;
      case fill_mode::wrap:
        if (len <= 1) return 0.0;
        {
          const std::int64_t sz = len - 1;  // the legacy period, n - 1
          in += as_double(sz * (static_cast<std::int64_t>(-in / as_double(sz)) + 1));
        }
        return in;
      case fill_mode::nearest: return 0.0;
      case fill_mode::constant: return -1.0;
    }
  } else if (in > as_double(len - 1)) {
    switch (mode) {
      case fill_mode::reflect:
        if (len <= 1) return 0.0;
        {
          const std::int64_t sz2 = 2 * len;
          in -= as_double(sz2 * static_cast<std::int64_t>(in / as_double(sz2)));
          if (in >= as_double(len)) in = as_double(sz2) - in - 1;
        }
        return in;
      case fill_mode::wrap:
        if (len <= 1) return 0.0;
        {
          const std::int64_t sz = len - 1;
          in -= as_double(sz * static_cast<std::int64_t>(in / as_double(sz)));
        }
        return in;
      case fill_mode::nearest: return as_double(len - 1);
      case fill_mode::constant: return -1.0;
    }
  }
  return in;
}

// The two input indices and the two weights of one axis of a bilinear sample.
struct taps {
  std::int64_t i0, i1;
  double w0, w1;
};

// An index of the two-tap footprint that falls outside [0, len): reflect and wrap map it the way scipy does;
// under nearest it clamps; under constant it only happens with weight exactly 0 (coordinate n - 1), where
// scipy reads a neighbour that does not change the sum, so any valid index will do.
inline std::int64_t map_tap(std::int64_t index, std::int64_t len, fill_mode mode) {
  if (index >= 0 && index < len) return index;
  if (mode == fill_mode::reflect || mode == fill_mode::wrap)
    index = static_cast<std::int64_t>(map_coordinate(static_cast<double>(index), len, mode));
  return std::clamp<std::int64_t>(index, 0, len - 1);
}

// One axis of scipy's order-1 spline: weights 1 - f and 1 - (1 - f) (scipy's get_spline_interpolation_weights
// makes the last weight 1 minus the others). Returns false where the sample is cval. This is the general case;
// locate below takes the common one (both taps inside) without it.
inline bool locate_border(double cc, std::int64_t len, fill_mode mode, taps& out) {
  // scipy leaves 'nearest' coordinates unmapped and clamps the taps instead; the weights then come from the
  // unmapped fraction, which changes the last bits of a double result.
  if (mode != fill_mode::nearest) {
    cc = map_coordinate(cc, len, mode);
    if (!(cc > -1.0)) return false;
  }
  const double start = std::floor(cc);
  const double w0 = 1.0 - (cc - start);
  const auto s = static_cast<std::int64_t>(start);
  out = {map_tap(s, len, mode), map_tap(s + 1, len, mode), w0, 1.0 - w0};
  return true;
}

inline bool locate(double cc, std::int64_t len, fill_mode mode, taps& out) {
  if (cc >= 0.0 && cc < static_cast<double>(len - 1)) {
    // Both taps inside, no mode involved. Truncation is floor for cc >= 0 and, unlike std::floor on a
    // baseline x86-64 target, needs no library call.
    const auto s = static_cast<std::int64_t>(cc);
    const double w0 = 1.0 - (cc - static_cast<double>(s));
    out = {s, s + 1, w0, 1.0 - w0};
    return true;
  }
  return locate_border(cc, len, mode, out);
}

// A warp is split among threads only in parts of at least this many output values, so smaller images (the
// study's 160 x 160 x 3 is 76,800 values) stay on the calling thread: the batch loader already runs one image
// per thread, and waking a team costs more than a small warp gains.
inline constexpr std::int64_t warp_values_per_thread = 1 << 17;

}  // namespace detail

// Checks that every source coordinate of an out_height x out_width warp is finite and small enough for
// scipy's integer casts (an affine map takes its extremes at the corners).
inline void check_warp(const affine_matrix& a, std::int64_t out_height, std::int64_t out_width) {
  for (const auto& row : a.m)
    for (const double v : row)
      require(std::isfinite(v), "augment::warp_affine: the matrix ", a, " has a non-finite entry");
  constexpr double limit = 4503599627370496.0;  // 2^52: beyond it a double has no fraction to interpolate
  for (const double r : {0.0, static_cast<double>(out_height - 1)})
    for (const double c : {0.0, static_cast<double>(out_width - 1)})
      for (int axis = 0; axis < 2; ++axis) {
        const double x = a.m[axis][0] * r + a.m[axis][1] * c + a.m[axis][2];
        require(std::abs(x) < limit, "augment::warp_affine: the matrix ", a, " sends output pixel (", r, ", ", c,
                ") to source coordinate ", x, " on axis ", axis, ", beyond 2^52");
      }
}

// The warp, handing each finished output row to sink(channel, row, values) (values: width floats, valid
// during the call) instead of writing it: the caller fuses flips and photometric stages into the same pass
// over memory (see transform.hpp). sink may be called from several threads at once, for different rows.
//
// Coordinates follow scipy's arithmetic exactly, ((row * m00 + col * m01) + m02) in double, but
// incrementally: row * m_k0 once per row and col * m_k1 from a per-image table, so the inner loop adds and
// never multiplies for coordinates, and the bits equal scipy's (no fused multiply-add can form, since the
// products are rounded before they are added). Each row is done in two passes: the taps of every column
// once, then every channel through them, so the mode logic is paid once per pixel, not once per value.
template <class Sink>
void warp_affine_rows(const data::image& in, const affine_matrix& a, fill_mode mode, float cval, Sink&& sink) {
  require(!in.empty() && in.channels > 0 && in.height > 0 && in.width > 0 &&
              in.size() == static_cast<std::int64_t>(in.pixels.size()),
          "augment::warp_affine: image ", in.channels, " x ", in.height, " x ", in.width, " with ", in.pixels.size(),
          " values is empty or inconsistent");
  require(is_valid(mode), "augment::warp_affine: fill mode ", mode, " is not one of ", valid_fill_modes);
  require(std::isfinite(cval), "augment::warp_affine: cval ", cval, " is not finite");
  check_warp(a, in.height, in.width);

  const std::int64_t h = in.height, w = in.width, channels = in.channels;
  std::vector<double> col_terms(static_cast<std::size_t>(2 * w));
  for (std::int64_t c = 0; c < w; ++c) {
    col_terms[static_cast<std::size_t>(2 * c)] = static_cast<double>(c) * a.m[0][1];
    col_terms[static_cast<std::size_t>(2 * c + 1)] = static_cast<double>(c) * a.m[1][1];
  }
  const float* planes = in.pixels.data();
  const std::int64_t plane = h * w;

  // The bilinear footprint of one output pixel: four offsets into a plane and the per-axis weights.
  struct footprint {
    std::int64_t o00, o01, o10, o11;
    double wy0, wy1, wx0, wx1;
    bool outside;  // cval
  };
  const auto rows_body = [&](int, std::int64_t begin, std::int64_t end) {
    std::vector<footprint> taps(static_cast<std::size_t>(w));  // one allocation per thread and image
    std::vector<float> values(static_cast<std::size_t>(w));
    for (std::int64_t r = begin; r < end; ++r) {
      // scipy starts each coordinate at 0.0 and adds the products; 0.0 + x is x, so the row term is the product.
      const double row0 = static_cast<double>(r) * a.m[0][0];
      const double row1 = static_cast<double>(r) * a.m[1][0];
      for (std::int64_t c = 0; c < w; ++c) {
        const double y = (row0 + col_terms[static_cast<std::size_t>(2 * c)]) + a.m[0][2];
        const double x = (row1 + col_terms[static_cast<std::size_t>(2 * c + 1)]) + a.m[1][2];
        footprint& f = taps[static_cast<std::size_t>(c)];
        detail::taps ty{}, tx{};
        f.outside = !detail::locate(y, h, mode, ty) || !detail::locate(x, w, mode, tx);
        if (f.outside) continue;
        f.o00 = ty.i0 * w + tx.i0;
        f.o01 = ty.i0 * w + tx.i1;
        f.o10 = ty.i1 * w + tx.i0;
        f.o11 = ty.i1 * w + tx.i1;
        f.wy0 = ty.w0;
        f.wy1 = ty.w1;
        f.wx0 = tx.w0;
        f.wx1 = tx.w1;
      }
      for (std::int64_t ch = 0; ch < channels; ++ch) {
        const float* p = planes + ch * plane;
        for (std::int64_t c = 0; c < w; ++c) {
          const footprint& f = taps[static_cast<std::size_t>(c)];
          if (f.outside) {
            values[static_cast<std::size_t>(c)] = cval;
            continue;
          }
          // scipy's loop: taps in C order, each value times the row weight times the column weight, summed
          // from 0.0 in double, rounded once to float.
          double t = 0.0;
          t += static_cast<double>(p[f.o00]) * f.wy0 * f.wx0;
          t += static_cast<double>(p[f.o01]) * f.wy0 * f.wx1;
          t += static_cast<double>(p[f.o10]) * f.wy1 * f.wx0;
          t += static_cast<double>(p[f.o11]) * f.wy1 * f.wx1;
          values[static_cast<std::size_t>(c)] = static_cast<float>(t);
        }
        sink(ch, r, static_cast<const float*>(values.data()));
      }
    }
  };
  const std::int64_t rows_per_thread =
      std::max<std::int64_t>(1, detail::warp_values_per_thread / std::max<std::int64_t>(1, w * channels));
  parallel_ranges(h, rows_body, rows_per_thread);
}

// scipy.ndimage.affine_transform(channel, a.m[:, :2], a.m[:, 2], order=1, mode=mode, cval=cval) for every
// channel, on a float image (scipy's float32 output: the sum is formed in double and rounded once).
inline data::image warp_affine(const data::image& in, const affine_matrix& a, fill_mode mode, float cval = 0.0f) {
  data::image out;
  out.channels = in.channels;
  out.height = in.height;
  out.width = in.width;
  out.pixels.resize(in.pixels.size());
  const std::int64_t h = in.height, w = in.width;
  warp_affine_rows(in, a, mode, cval, [&](std::int64_t ch, std::int64_t r, const float* values) {
    std::copy(values, values + w, out.pixels.data() + (ch * h + r) * w);
  });
  return out;
}

}  // namespace augment
FERGEN_END_NAMESPACE
