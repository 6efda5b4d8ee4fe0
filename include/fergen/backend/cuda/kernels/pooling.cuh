// fergen/backend/cuda/kernels/pooling.cuh: max, average and adaptive average pooling and nearest
// upsampling. Forward kernels run one thread per output element; backward kernels one thread per input
// element, which gathers from the windows containing it in the order the CPU kernel scatters into it, so
// no two threads write one value (no atomics) and the sums round exactly as on the CPU.
#pragma once

#include <fergen/backend/cuda/kernels/launch.cuh>

#include <cmath>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_kernels {

// Rounds towards minus infinity, as pool2d_geometry::floor_div.
FERGEN_HD inline std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// The input rows (or columns) [lo, hi) of window o along one axis, and the window clipped to the padded
// input (PyTorch's count_include_pad divisor): cpu_pool::span.
struct pool_window {
  std::int64_t lo, hi, padded;
};
FERGEN_HD inline pool_window pool_span(std::int64_t o, std::int64_t in, std::int64_t kernel, std::int64_t stride,
                                       std::int64_t pad) {
  const std::int64_t start = o * stride - pad;
  const std::int64_t end = start + kernel < in + pad ? start + kernel : in + pad;
  return {start > 0 ? start : 0, end < in ? end : in, end - start};
}

// The windows [first, last] along one axis whose input range contains index i (0 <= i < in): window o
// covers [o * stride - pad, o * stride - pad + kernel), clipped to the input. Empty when first > last.
FERGEN_HD inline void windows_containing(std::int64_t i, std::int64_t kernel, std::int64_t stride, std::int64_t pad,
                                         std::int64_t out, std::int64_t& first, std::int64_t& last) {
  first = floor_div(i + pad - kernel, stride) + 1;
  last = floor_div(i + pad, stride);
  if (first < 0) first = 0;
  if (last > out - 1) last = out - 1;
}

// The geometry of one pooling call in plain numbers: input h x w, output oh x ow per plane.
struct pool_dims {
  std::int64_t h, w, oh, ow;
  std::int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
};

struct max_pool_forward {
  const float* x;
  float* y;
  std::int32_t* argmax;  // null: not recorded
  pool_dims d;
  FERGEN_HD void operator()(std::int64_t i) const {
    const std::int64_t ow = i % d.ow, oh = (i / d.ow) % d.oh, plane = i / (d.ow * d.oh);
    const float* in = x + plane * d.h * d.w;
    const pool_window rows = pool_span(oh, d.h, d.kernel_h, d.stride_h, d.pad_h);
    const pool_window cols = pool_span(ow, d.w, d.kernel_w, d.stride_w, d.pad_w);
    // The CPU's scan: strictly greater keeps the first of equal maxima, a NaN always takes over.
    float best = -INFINITY;
    std::int64_t where = rows.lo * d.w + cols.lo;
    for (std::int64_t ih = rows.lo; ih < rows.hi; ++ih) {
      for (std::int64_t iw = cols.lo; iw < cols.hi; ++iw) {
        const float v = in[ih * d.w + iw];
        if (v > best || v != v) {
          best = v;
          where = ih * d.w + iw;
        }
      }
    }
    y[i] = best;
    if (argmax) argmax[i] = static_cast<std::int32_t>(where);
  }
};

struct max_pool_backward {
  const float* dy;
  const std::int32_t* argmax;
  float* dx;
  pool_dims d;
  FERGEN_HD void operator()(std::int64_t i) const {
    const std::int64_t iw = i % d.w, ih = (i / d.w) % d.h, plane = i / (d.w * d.h);
    std::int64_t oh0, oh1, ow0, ow1;
    windows_containing(ih, d.kernel_h, d.stride_h, d.pad_h, d.oh, oh0, oh1);
    windows_containing(iw, d.kernel_w, d.stride_w, d.pad_w, d.ow, ow0, ow1);
    const auto self = static_cast<std::int32_t>(ih * d.w + iw);
    const std::int64_t base = plane * d.oh * d.ow;
    float sum = 0;
    for (std::int64_t oh = oh0; oh <= oh1; ++oh)
      for (std::int64_t ow = ow0; ow <= ow1; ++ow) {
        const std::int64_t o = base + oh * d.ow + ow;
        if (argmax[o] == self) sum += dy[o];
      }
    dx[i] = sum;
  }
};

// cpu avg_pool2d's divisor: the window clipped to the padded input, or the input elements in it.
FERGEN_HD inline float avg_divisor(const pool_window& rows, const pool_window& cols, bool count_include_pad) {
  return static_cast<float>(count_include_pad ? rows.padded * cols.padded : (rows.hi - rows.lo) * (cols.hi - cols.lo));
}

struct avg_pool_forward {
  const float* x;
  float* y;
  pool_dims d;
  bool count_include_pad;
  FERGEN_HD void operator()(std::int64_t i) const {
    const std::int64_t ow = i % d.ow, oh = (i / d.ow) % d.oh, plane = i / (d.ow * d.oh);
    const float* in = x + plane * d.h * d.w;
    const pool_window rows = pool_span(oh, d.h, d.kernel_h, d.stride_h, d.pad_h);
    const pool_window cols = pool_span(ow, d.w, d.kernel_w, d.stride_w, d.pad_w);
    float sum = 0;
    for (std::int64_t ih = rows.lo; ih < rows.hi; ++ih)
      for (std::int64_t iw = cols.lo; iw < cols.hi; ++iw) sum += in[ih * d.w + iw];
    y[i] = sum / avg_divisor(rows, cols, count_include_pad);
  }
};

struct avg_pool_backward {
  const float* dy;
  float* dx;
  pool_dims d;
  bool count_include_pad;
  FERGEN_HD void operator()(std::int64_t i) const {
    const std::int64_t iw = i % d.w, ih = (i / d.w) % d.h, plane = i / (d.w * d.h);
    std::int64_t oh0, oh1, ow0, ow1;
    windows_containing(ih, d.kernel_h, d.stride_h, d.pad_h, d.oh, oh0, oh1);
    windows_containing(iw, d.kernel_w, d.stride_w, d.pad_w, d.ow, ow0, ow1);
    const float* g = dy + plane * d.oh * d.ow;
    float sum = 0;
    for (std::int64_t oh = oh0; oh <= oh1; ++oh) {
      const pool_window rows = pool_span(oh, d.h, d.kernel_h, d.stride_h, d.pad_h);
      for (std::int64_t ow = ow0; ow <= ow1; ++ow) {
        const pool_window cols = pool_span(ow, d.w, d.kernel_w, d.stride_w, d.pad_w);
        sum += g[oh * d.ow + ow] / avg_divisor(rows, cols, count_include_pad);
      }
    }
    dx[i] = sum;
  }
};

// Adaptive windows (adaptive_start / adaptive_end of backend/pooling.hpp).
FERGEN_HD inline std::int64_t adaptive_begin(std::int64_t o, std::int64_t in, std::int64_t out) { return o * in / out; }
FERGEN_HD inline std::int64_t adaptive_finish(std::int64_t o, std::int64_t in, std::int64_t out) {
  return ((o + 1) * in + out - 1) / out;
}

struct adaptive_pool_forward {
  const float* x;
  float* y;
  std::int64_t h, w, oh_size, ow_size;
  FERGEN_HD void operator()(std::int64_t i) const {
    const std::int64_t ow = i % ow_size, oh = (i / ow_size) % oh_size, plane = i / (ow_size * oh_size);
    const float* in = x + plane * h * w;
    const std::int64_t h0 = adaptive_begin(oh, h, oh_size), h1 = adaptive_finish(oh, h, oh_size);
    const std::int64_t w0 = adaptive_begin(ow, w, ow_size), w1 = adaptive_finish(ow, w, ow_size);
    float sum = 0;
    for (std::int64_t ih = h0; ih < h1; ++ih)
      for (std::int64_t iw = w0; iw < w1; ++iw) sum += in[ih * w + iw];
    y[i] = sum / static_cast<float>(h1 - h0) / static_cast<float>(w1 - w0);
  }
};

// The adaptive windows along one axis that contain input index i: from floor(i * out / in) to
// ceil((i + 1) * out / in) - 1; each candidate is checked against its window as well.
FERGEN_HD inline void adaptive_containing(std::int64_t i, std::int64_t in, std::int64_t out, std::int64_t& first,
                                          std::int64_t& last) {
  first = i * out / in;
  last = ((i + 1) * out + in - 1) / in - 1;
  if (last > out - 1) last = out - 1;
}

struct adaptive_pool_backward {
  const float* dy;
  float* dx;
  std::int64_t h, w, oh_size, ow_size;
  FERGEN_HD void operator()(std::int64_t i) const {
    const std::int64_t iw = i % w, ih = (i / w) % h, plane = i / (w * h);
    std::int64_t oh0, oh1, ow0, ow1;
    adaptive_containing(ih, h, oh_size, oh0, oh1);
    adaptive_containing(iw, w, ow_size, ow0, ow1);
    const float* g = dy + plane * oh_size * ow_size;
    float sum = 0;
    for (std::int64_t oh = oh0; oh <= oh1; ++oh) {
      const std::int64_t h0 = adaptive_begin(oh, h, oh_size), h1 = adaptive_finish(oh, h, oh_size);
      if (ih < h0 || ih >= h1) continue;
      for (std::int64_t ow = ow0; ow <= ow1; ++ow) {
        const std::int64_t w0 = adaptive_begin(ow, w, ow_size), w1 = adaptive_finish(ow, w, ow_size);
        if (iw < w0 || iw >= w1) continue;
        sum += g[oh * ow_size + ow] / static_cast<float>(h1 - h0) / static_cast<float>(w1 - w0);
      }
    }
    dx[i] = sum;
  }
};

// Nearest upsampling by an integer factor: output (oh, ow) reads input (oh / scale, ow / scale).
struct upsample_forward {
  const float* x;
  float* y;
  std::int64_t h, w, scale;
  FERGEN_HD void operator()(std::int64_t i) const {
    const std::int64_t out_w = w * scale, out_h = h * scale;
    const std::int64_t ow = i % out_w, oh = (i / out_w) % out_h, plane = i / (out_w * out_h);
    y[i] = x[plane * h * w + (oh / scale) * w + ow / scale];
  }
};

// The sum of each scale x scale block, row by row from zero (the CPU's and PyTorch's order).
struct upsample_backward {
  const float* dy;
  float* dx;
  std::int64_t h, w, scale;
  FERGEN_HD void operator()(std::int64_t i) const {
    const std::int64_t out_w = w * scale;
    const std::int64_t iw = i % w, ih = (i / w) % h, plane = i / (w * h);
    const float* block = dy + plane * h * scale * out_w + ih * scale * out_w + iw * scale;
    float sum = 0;
    for (std::int64_t r = 0; r < scale; ++r)
      for (std::int64_t s = 0; s < scale; ++s) sum += block[r * out_w + s];
    dx[i] = sum;
  }
};

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
