// fergen/data/resize.hpp: resizing (bilinear with optional antialiasing, nearest) and centre cropping,
// each defined as the PyTorch / torchvision operation of the same name so that models see the inputs they
// would see in the reference pipeline.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/parallel.hpp>
#include <fergen/data/image.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace data {

namespace detail {

// The target size must be positive and the result must be addressable: a size read from a configuration
// file must not turn into a wrapped product that sizes an allocation.
inline void require_target(const image& img, std::int64_t height, std::int64_t width, std::string_view what) {
  require(height > 0 && width > 0, what, ": target size ", height, " x ", width, " has a dimension that is not positive");
  const auto max_values = static_cast<std::int64_t>(std::min<std::uint64_t>(
      std::vector<float>().max_size(), static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())));
  require(height <= max_values / width && img.channels <= max_values / (height * width), what, ": target size ", height,
          " x ", width, " with ", img.channels, " channels is more values than fit in memory");
}

// One output axis of a separable resampling: output index i reads count[i] source samples starting at
// start[i] with weights w[i * taps + j]. Weights are double: the reference is float64 PyTorch and the
// kernels accumulate in double, so float rounding happens once, when a value is stored.
struct axis_weights {
  std::int64_t taps = 0;
  std::vector<std::int64_t> start;
  std::vector<std::int64_t> count;
  std::vector<double> w;
};

// PyTorch's antialiased bilinear (aten/src/ATen/native/cpu/UpSampleKernel.cpp, _compute_weights_aa, 1.13),
// which is PIL's BILINEAR resampling (libImaging/Resample.c, precompute_coeffs): a triangle filter centred
// on the source position of the output pixel's centre, widened by the scale factor when shrinking so
// every source pixel contributes, normalised to sum 1 (which also makes the image edges behave like
// clamping). The truncating casts and the +0.5 are theirs and decide which samples are taken.
inline axis_weights antialias_axis(std::int64_t in, std::int64_t out) {
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double support = scale >= 1.0 ? scale : 1.0;  // triangle half-width 1, times the scale when shrinking
  const double inverse = scale >= 1.0 ? 1.0 / scale : 1.0;
  axis_weights a;
  a.taps = static_cast<std::int64_t>(std::ceil(support)) * 2 + 1;
  a.start.resize(static_cast<std::size_t>(out));
  a.count.resize(static_cast<std::size_t>(out));
  a.w.assign(static_cast<std::size_t>(out * a.taps), 0.0);
  for (std::int64_t i = 0; i < out; ++i) {
    const double center = scale * (static_cast<double>(i) + 0.5);
    const std::int64_t lo = std::max<std::int64_t>(static_cast<std::int64_t>(center - support + 0.5), 0);
    const std::int64_t hi = std::min<std::int64_t>(static_cast<std::int64_t>(center + support + 0.5), in);
    const std::int64_t n = std::min(hi - lo, a.taps);  // at most taps by construction; the min keeps it provable
    double* w = a.w.data() + i * a.taps;
    double total = 0.0;
    for (std::int64_t j = 0; j < n; ++j) {
      const double x = (static_cast<double>(j + lo) - center + 0.5) * inverse;
      w[j] = std::max(0.0, 1.0 - std::abs(x));
      total += w[j];
    }
    if (total != 0.0)
      for (std::int64_t j = 0; j < n; ++j) w[j] /= total;
    a.start[static_cast<std::size_t>(i)] = lo;
    a.count[static_cast<std::size_t>(i)] = std::max<std::int64_t>(n, 0);
  }
  return a;
}

// PyTorch's plain bilinear with align_corners=False (upsample_bilinear2d; area_pixel_compute_source_index):
// source position scale * (i + 0.5) - 0.5, clamped at 0 below, and the right neighbour clamped at the last
// sample. Shrinking this way skips source pixels (it aliases); that is what antialias=false asks for.
inline axis_weights bilinear_axis(std::int64_t in, std::int64_t out) {
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  axis_weights a;
  a.taps = 2;
  a.start.resize(static_cast<std::size_t>(out));
  a.count.resize(static_cast<std::size_t>(out));
  a.w.assign(static_cast<std::size_t>(out * 2), 0.0);
  for (std::int64_t i = 0; i < out; ++i) {
    const double source = std::max(0.0, scale * (static_cast<double>(i) + 0.5) - 0.5);
    const std::int64_t i0 = std::min(static_cast<std::int64_t>(source), in - 1);
    const double l1 = source - static_cast<double>(i0);
    a.start[static_cast<std::size_t>(i)] = i0;
    if (i0 < in - 1) {
      a.count[static_cast<std::size_t>(i)] = 2;
      a.w[static_cast<std::size_t>(2 * i)] = 1.0 - l1;
      a.w[static_cast<std::size_t>(2 * i + 1)] = l1;
    } else {  // both neighbours are the last sample: its value, whatever the split
      a.count[static_cast<std::size_t>(i)] = 1;
      a.w[static_cast<std::size_t>(2 * i)] = 1.0;
    }
  }
  return a;
}

// Rows per thread below which waking workers costs more than it saves (about 16k multiply-adds each).
inline std::int64_t rows_per_thread(std::int64_t row_width, std::int64_t taps) {
  return std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, row_width * taps));
}

// Separable resampling, width first and then height, the order PyTorch uses. The intermediate stays in
// double so the result is rounded to float once.
inline image resample(const image& img, std::int64_t height, std::int64_t width, const axis_weights* along_x,
                      const axis_weights* along_y) {
  const std::int64_t channels = img.channels, in_h = img.height, in_w = img.width;
  std::vector<double> mid(static_cast<std::size_t>(channels * in_h * width));
  const std::int64_t rows = channels * in_h;
  if (along_x) {
    const axis_weights& a = *along_x;
    parallel_for(
        rows,
        [&](std::int64_t r) {
          const float* src = img.pixels.data() + r * in_w;
          double* dst = mid.data() + r * width;
          for (std::int64_t x = 0; x < width; ++x) {
            const double* w = a.w.data() + x * a.taps;
            const float* s = src + a.start[static_cast<std::size_t>(x)];
            const std::int64_t n = a.count[static_cast<std::size_t>(x)];
            double sum = 0.0;
            for (std::int64_t j = 0; j < n; ++j) sum += w[j] * static_cast<double>(s[j]);
            dst[x] = sum;
          }
        },
        rows_per_thread(width, a.taps));
  } else {
    for (std::size_t i = 0; i < mid.size(); ++i) mid[i] = static_cast<double>(img.pixels[i]);
  }

  image out(channels, height, width);
  if (along_y) {
    const axis_weights& a = *along_y;
    parallel_for(
        channels * height,
        [&](std::int64_t r) {
          const std::int64_t c = r / height, y = r % height;
          const double* w = a.w.data() + y * a.taps;
          const double* src = mid.data() + (c * in_h + a.start[static_cast<std::size_t>(y)]) * width;
          const std::int64_t n = a.count[static_cast<std::size_t>(y)];
          float* dst = out.pixels.data() + r * width;
          for (std::int64_t x = 0; x < width; ++x) {
            double sum = 0.0;
            for (std::int64_t j = 0; j < n; ++j) sum += w[j] * src[j * width + x];
            dst[x] = static_cast<float>(sum);
          }
        },
        rows_per_thread(width, a.taps));
  } else {
    for (std::size_t i = 0; i < mid.size(); ++i) out.pixels[i] = static_cast<float>(mid[i]);
  }
  return out;
}

// Python's round() of d / 2 for d >= 0: halves go to the even neighbour (round(1.5) = 2, round(2.5) = 2).
inline std::int64_t half_rounded_to_even(std::int64_t d) {
  const std::int64_t k = d / 2;
  return (d % 2 == 0 || k % 2 == 0) ? k : k + 1;
}

// torchvision's centre-crop offset along one axis: where the crop is larger, the image is first padded with
// zeros, (target - size) // 2 before it, so the crop starts that far before the image.
inline std::int64_t crop_offset(std::int64_t size, std::int64_t target) {
  return target > size ? -((target - size) / 2) : half_rounded_to_even(size - target);
}

// torch's nearest source index (UpSample.h, nearest_idx, 1.13), in float as torch computes it: the
// same size is the identity, doubling is i / 2, and otherwise floor(i * (float(in) / out)) clamped to the
// last sample. Float rounding can make this differ from the exact floor(i * in / out); matching torch
// matters more than that exactness.
inline std::vector<std::int64_t> nearest_indices(std::int64_t in, std::int64_t out) {
  std::vector<std::int64_t> index(static_cast<std::size_t>(out));
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (std::int64_t i = 0; i < out; ++i) {
    std::int64_t s;
    if (out == in)
      s = i;
    else if (out == 2 * in)
      s = i >> 1;
    else
      s = std::min(static_cast<std::int64_t>(std::floor(static_cast<float>(i) * scale)), in - 1);
    index[static_cast<std::size_t>(i)] = s;
  }
  return index;
}

}  // namespace detail

// torch.nn.functional.interpolate(x, size=(height, width), mode='bilinear', align_corners=False,
// antialias=antialias), PyTorch 1.13, per channel. With antialias, shrinking averages over every source
// pixel under the widened triangle (PIL's Image.resize(BILINEAR) up to PIL's 8-bit rounding), so a
// 480x640 -> 48x48 reduction keeps the image instead of sampling every tenth pixel; enlarging is plain
// bilinear with half-pixel centres and edge clamping either way. Values are not clamped: the triangle's
// weights are non-negative, so the result stays within the input's range.
inline image resize_bilinear(const image& img, std::int64_t height, std::int64_t width, bool antialias = true) {
  require_consistent(img, "resize_bilinear");
  detail::require_target(img, height, width, "resize_bilinear");
  const auto make = antialias ? detail::antialias_axis : detail::bilinear_axis;
  // An axis that keeps its size is the identity in both of torch's variants; PyTorch skips it too.
  const detail::axis_weights along_x = width != img.width ? make(img.width, width) : detail::axis_weights{};
  const detail::axis_weights along_y = height != img.height ? make(img.height, height) : detail::axis_weights{};
  return detail::resample(img, height, width, width != img.width ? &along_x : nullptr,
                          height != img.height ? &along_y : nullptr);
}

// torch.nn.functional.interpolate(x, size=(height, width), mode='nearest'), PyTorch 1.13: output pixel
// (y, x) is input pixel (floor(y * in_h / height), floor(x * in_w / width)), computed in float as torch does.
inline image resize_nearest(const image& img, std::int64_t height, std::int64_t width) {
  require_consistent(img, "resize_nearest");
  detail::require_target(img, height, width, "resize_nearest");
  const std::vector<std::int64_t> rows = detail::nearest_indices(img.height, height);
  const std::vector<std::int64_t> cols = detail::nearest_indices(img.width, width);
  image out(img.channels, height, width);
  parallel_for(
      img.channels * height,
      [&](std::int64_t r) {
        const std::int64_t c = r / height, y = r % height;
        const float* src = img.pixels.data() + (c * img.height + rows[static_cast<std::size_t>(y)]) * img.width;
        float* dst = out.pixels.data() + r * width;
        for (std::int64_t x = 0; x < width; ++x) dst[x] = src[cols[static_cast<std::size_t>(x)]];
      },
      detail::rows_per_thread(width, 1));
  return out;
}

// torchvision.transforms.functional.center_crop(img, [height, width]) (torchvision 0.14): the crop starts
// at top = int(round((img.height - height) / 2.0)) and likewise left, with Python's round (halves to
// even). A crop larger than the image pads it with zeros first, (height - img.height) // 2 rows above and
// the rest below (columns likewise), as torchvision does, rather than failing: centring a small face
// on a larger canvas is a legitimate request.
inline image center_crop(const image& img, std::int64_t height, std::int64_t width) {
  require_consistent(img, "center_crop");
  detail::require_target(img, height, width, "center_crop");
  const std::int64_t top = detail::crop_offset(img.height, height);
  const std::int64_t left = detail::crop_offset(img.width, width);
  image out(img.channels, height, width);  // zero: the padding
  // Columns of the output that fall inside the image; the same for every row.
  const std::int64_t x0 = std::max<std::int64_t>(0, -left);
  const std::int64_t x1 = std::min(width, img.width - left);
  for (std::int64_t c = 0; c < img.channels; ++c) {
    for (std::int64_t y = 0; y < height; ++y) {
      const std::int64_t sy = y + top;
      if (sy < 0 || sy >= img.height) continue;
      const float* row = img.channel(c) + sy * img.width;  // x0 + left >= 0: never point before the row
      std::copy(row + (x0 + left), row + (x1 + left), out.channel(c) + y * width + x0);
    }
  }
  return out;
}

}  // namespace data
FERGEN_END_NAMESPACE
