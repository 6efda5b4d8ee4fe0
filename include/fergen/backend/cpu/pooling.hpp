// fergen/backend/cpu/pooling.hpp: max, average and adaptive average pooling on the CPU, one task per
// (sample, channel) plane.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/memory_pool.hpp>
#include <fergen/backend/cpu/strided_range.hpp>
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/backend/pooling.hpp>
#include <fergen/core/parallel.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace ops {
namespace cpu_pool {

// Planes per thread below which one thread is faster: about 16k window reads per task.
constexpr std::int64_t grain(std::int64_t work_per_plane) {
  return std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, work_per_plane));
}

// The input rows (or columns) [lo, hi) of window o along one axis, and PyTorch's average-pool divisor
// span: the window clipped to the padded input (hi_padded - start) before clipping to the input itself.
struct window {
  std::int64_t lo, hi, padded;
};
constexpr window span(std::int64_t o, std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t pad) {
  const std::int64_t start = o * stride - pad;
  const std::int64_t end = std::min(start + kernel, in + pad);
  return {std::max<std::int64_t>(start, 0), std::min(end, in), end - start};
}

inline void check_gradient(std::string_view op, const shape& dy, const shape& expected, const shape& x) {
  require(dy == expected, op, " backward: gradient ", dy, " does not match the output ", expected, " of input ", x);
}

}  // namespace cpu_pool

template <real T>
struct max_pool2d<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;
  using context_type = context<cpu<T>>;
  // Per output element, h * W + w of its maximum within the input plane (PyTorch's indices). 32 bits
  // halve the memory of int64 and cover any plane a CNN sees; forward checks the bound.
  using indices_type = std::vector<std::int32_t>;

  static tensor_type forward(context_type&, const tensor_type& x, const pool2d_geometry& g, indices_type* indices) {
    g.validate("max_pool2d");
    const shape xs = x.shape(), ys = g.output(xs, "max_pool2d");
    require(xs.plane() <= std::numeric_limits<std::int32_t>::max(), g.describe("max_pool2d"), ": input ", xs,
            " has more than 2^31 elements per plane");
    tensor_type y = tensor_type::uninitialized(ys);
    if (!indices) {
      values_only(x.data(), xs, y.data(), ys, g);
      return y;
    }
    indices->resize(static_cast<std::size_t>(ys.size()));
    std::int32_t* arg_base = indices->data();
    const std::int64_t in_plane = xs.plane(), out_plane = ys.plane();
    parallel_for(xs.n * xs.c, [&](std::int64_t p) {
      const T* in = x.data() + p * in_plane;
      T* out = y.data() + p * out_plane;
      std::int32_t* arg = arg_base + p * out_plane;
      for (std::int64_t oh = 0; oh < ys.h; ++oh) {
        const auto rows = cpu_pool::span(oh, xs.h, g.kernel_h, g.stride_h, g.pad_h);
        for (std::int64_t ow = 0; ow < ys.w; ++ow) {
          const auto cols = cpu_pool::span(ow, xs.w, g.kernel_w, g.stride_w, g.pad_w);
          // PyTorch's scan: strictly greater keeps the first of equal maxima; a NaN always takes over, so
          // NaN propagates and the index names the last NaN. An all -inf window keeps its first element.
          T best = -std::numeric_limits<T>::infinity();
          std::int64_t where = rows.lo * xs.w + cols.lo;
          for (std::int64_t ih = rows.lo; ih < rows.hi; ++ih) {
            for (std::int64_t iw = cols.lo; iw < cols.hi; ++iw) {
              const T v = in[ih * xs.w + iw];
              if (v > best || std::isnan(v)) {
                best = v;
                where = ih * xs.w + iw;
              }
            }
          }
          out[oh * ys.w + ow] = best;
          arg[oh * ys.w + ow] = static_cast<std::int32_t>(where);
        }
      }
    }, cpu_pool::grain(out_plane * g.kernel_h * g.kernel_w));
    return y;
  }

  // Inference wants only the values, and a maximum is separable: per output row, the maximum over the window's
  // rows of every input column (whole rows at a time), then over each window's columns of those. Branch-free
  // loops over contiguous or evenly strided data, which the compiler vectorises, instead of a scan of every window
  // that keeps its argument. The NaN rule is the scan's: a NaN takes over.
  static void values_only(const T* x, const shape& xs, T* y, const shape& ys, const pool2d_geometry& g) {
    constexpr T lowest = -std::numeric_limits<T>::infinity();
    const auto take = [](T best, T v) { return (v > best || v != v) ? v : best; };
    // Tap kw of window ow reads input column ow * stride + kw - pad: inside the row for ow in taps[kw].
    std::vector<cpu_strided::valid_range> taps(static_cast<std::size_t>(g.kernel_w));
    for (std::int64_t kw = 0; kw < g.kernel_w; ++kw)
      taps[static_cast<std::size_t>(kw)] = cpu_strided::inside(kw - g.pad_w, g.stride_w, xs.w, ys.w);
    const std::int64_t in_plane = xs.plane(), out_plane = ys.plane(), stride = g.stride_w;
    parallel_for(xs.n * xs.c, [&](std::int64_t p) {
      const T* in = x + p * in_plane;
      cpu_detail::scratch_buffer<T> column_max(xs.w);
      T* c = column_max.get();
      for (std::int64_t oh = 0; oh < ys.h; ++oh) {
        const cpu_pool::window rows = cpu_pool::span(oh, xs.h, g.kernel_h, g.stride_h, g.pad_h);
        std::fill(c, c + xs.w, lowest);
        for (std::int64_t ih = rows.lo; ih < rows.hi; ++ih) {
          const T* row = in + ih * xs.w;
          for (std::int64_t iw = 0; iw < xs.w; ++iw) c[iw] = take(c[iw], row[iw]);
        }
        T* o = y + p * out_plane + oh * ys.w;
        std::fill(o, o + ys.w, lowest);
        for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
          const T* tap = c + kw - g.pad_w;
          const cpu_strided::valid_range r = taps[static_cast<std::size_t>(kw)];
          for (std::int64_t ow = r.lo; ow < r.hi; ++ow) o[ow] = take(o[ow], tap[ow * stride]);
        }
      }
    }, cpu_pool::grain(out_plane * g.kernel_h * g.kernel_w));
  }

  static tensor_type backward(context_type&, const tensor_type& dy, const indices_type& indices, const shape& xs,
                              const pool2d_geometry& g) {
    g.validate("max_pool2d");
    const shape ys = dy.shape();
    cpu_pool::check_gradient("max_pool2d", ys, g.output(xs, "max_pool2d"), xs);
    require(static_cast<std::int64_t>(indices.size()) == ys.size(), g.describe("max_pool2d"), " backward: ",
            indices.size(), " recorded indices for the gradient ", ys);
    tensor_type dx(xs);
    const std::int64_t in_plane = xs.plane(), out_plane = ys.plane();
    // Overlapping windows can share a maximum: accumulate. Planes are disjoint, so tasks never collide.
    parallel_for(xs.n * xs.c, [&](std::int64_t p) {
      const T* g_out = dy.data() + p * out_plane;
      const std::int32_t* arg = indices.data() + p * out_plane;
      T* g_in = dx.data() + p * in_plane;
      for (std::int64_t i = 0; i < out_plane; ++i) g_in[arg[i]] += g_out[i];
    }, cpu_pool::grain(out_plane));
    return dx;
  }
};

template <real T>
struct avg_pool2d<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;
  using context_type = context<cpu<T>>;

  static tensor_type forward(context_type&, const tensor_type& x, const pool2d_geometry& g, bool count_include_pad) {
    g.validate("avg_pool2d");
    const shape xs = x.shape(), ys = g.output(xs, "avg_pool2d");
    tensor_type y = tensor_type::uninitialized(ys);
    const std::int64_t in_plane = xs.plane(), out_plane = ys.plane();
    parallel_for(xs.n * xs.c, [&](std::int64_t p) {
      const T* in = x.data() + p * in_plane;
      T* out = y.data() + p * out_plane;
      for (std::int64_t oh = 0; oh < ys.h; ++oh) {
        const auto rows = cpu_pool::span(oh, xs.h, g.kernel_h, g.stride_h, g.pad_h);
        for (std::int64_t ow = 0; ow < ys.w; ++ow) {
          const auto cols = cpu_pool::span(ow, xs.w, g.kernel_w, g.stride_w, g.pad_w);
          // Summed in T in PyTorch's order, then one division, so float results round as PyTorch's do.
          T sum = 0;
          for (std::int64_t ih = rows.lo; ih < rows.hi; ++ih)
            for (std::int64_t iw = cols.lo; iw < cols.hi; ++iw) sum += in[ih * xs.w + iw];
          out[oh * ys.w + ow] = sum / divisor(rows, cols, count_include_pad);
        }
      }
    }, cpu_pool::grain(out_plane * g.kernel_h * g.kernel_w));
    return y;
  }

  static tensor_type backward(context_type&, const tensor_type& dy, const shape& xs, const pool2d_geometry& g,
                              bool count_include_pad) {
    g.validate("avg_pool2d");
    const shape ys = dy.shape();
    cpu_pool::check_gradient("avg_pool2d", ys, g.output(xs, "avg_pool2d"), xs);
    tensor_type dx(xs);
    const std::int64_t in_plane = xs.plane(), out_plane = ys.plane();
    parallel_for(xs.n * xs.c, [&](std::int64_t p) {
      const T* g_out = dy.data() + p * out_plane;
      T* g_in = dx.data() + p * in_plane;
      for (std::int64_t oh = 0; oh < ys.h; ++oh) {
        const auto rows = cpu_pool::span(oh, xs.h, g.kernel_h, g.stride_h, g.pad_h);
        for (std::int64_t ow = 0; ow < ys.w; ++ow) {
          const auto cols = cpu_pool::span(ow, xs.w, g.kernel_w, g.stride_w, g.pad_w);
          const T share = g_out[oh * ys.w + ow] / divisor(rows, cols, count_include_pad);
          for (std::int64_t ih = rows.lo; ih < rows.hi; ++ih)
            for (std::int64_t iw = cols.lo; iw < cols.hi; ++iw) g_in[ih * xs.w + iw] += share;
        }
      }
    }, cpu_pool::grain(out_plane * g.kernel_h * g.kernel_w));
    return dx;
  }

 private:
  // Never zero: validate() keeps padding <= kernel / 2 and the output rule keeps the last window starting
  // inside the input or its left padding, so every window holds an input element.
  static T divisor(const cpu_pool::window& rows, const cpu_pool::window& cols, bool count_include_pad) {
    return static_cast<T>(count_include_pad ? rows.padded * cols.padded : (rows.hi - rows.lo) * (cols.hi - cols.lo));
  }
};

template <real T>
struct adaptive_avg_pool2d<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;
  using context_type = context<cpu<T>>;

  static tensor_type forward(context_type&, const tensor_type& x, std::int64_t out_h, std::int64_t out_w) {
    const shape xs = x.shape(), ys = adaptive_output(xs, out_h, out_w);
    tensor_type y = tensor_type::uninitialized(ys);
    const windows rows = windows::make(xs.h, ys.h), cols = windows::make(xs.w, ys.w);
    const std::int64_t in_plane = xs.plane(), out_plane = ys.plane();
    parallel_for(xs.n * xs.c, [&](std::int64_t p) {
      const T* in = x.data() + p * in_plane;
      T* out = y.data() + p * out_plane;
      for (std::int64_t oh = 0; oh < ys.h; ++oh) {
        const std::int64_t h0 = rows.start[oh], h1 = rows.end[oh];
        for (std::int64_t ow = 0; ow < ys.w; ++ow) {
          const std::int64_t w0 = cols.start[ow], w1 = cols.end[ow];
          T sum = 0;
          for (std::int64_t ih = h0; ih < h1; ++ih)
            for (std::int64_t iw = w0; iw < w1; ++iw) sum += in[ih * xs.w + iw];
          // Two divisions, as PyTorch's kernel rounds. (PyTorch sends (1, 1) through mean(), which sums in
          // another order: there the two agree to rounding rather than to the bit.)
          out[oh * ys.w + ow] = sum / static_cast<T>(h1 - h0) / static_cast<T>(w1 - w0);
        }
      }
    }, cpu_pool::grain(in_plane + out_plane));
    return y;
  }

  static tensor_type backward(context_type&, const tensor_type& dy, const shape& xs) {
    const shape ys = dy.shape();
    cpu_pool::check_gradient("adaptive_avg_pool2d", ys, adaptive_output(xs, ys.h, ys.w), xs);
    tensor_type dx(xs);
    const windows rows = windows::make(xs.h, ys.h), cols = windows::make(xs.w, ys.w);
    const std::int64_t in_plane = xs.plane(), out_plane = ys.plane();
    parallel_for(xs.n * xs.c, [&](std::int64_t p) {
      const T* g_out = dy.data() + p * out_plane;
      T* g_in = dx.data() + p * in_plane;
      for (std::int64_t oh = 0; oh < ys.h; ++oh) {
        const std::int64_t h0 = rows.start[oh], h1 = rows.end[oh];
        for (std::int64_t ow = 0; ow < ys.w; ++ow) {
          const std::int64_t w0 = cols.start[ow], w1 = cols.end[ow];
          const T share = g_out[oh * ys.w + ow] / static_cast<T>(h1 - h0) / static_cast<T>(w1 - w0);
          for (std::int64_t ih = h0; ih < h1; ++ih)
            for (std::int64_t iw = w0; iw < w1; ++iw) g_in[ih * xs.w + iw] += share;
        }
      }
    }, cpu_pool::grain(in_plane + out_plane));
    return dx;
  }

 private:
  // The windows along one axis, computed once per call rather than once per plane.
  struct windows {
    std::vector<std::int64_t> start, end;
    static windows make(std::int64_t in, std::int64_t out) {
      windows w{std::vector<std::int64_t>(static_cast<std::size_t>(out)),
                std::vector<std::int64_t>(static_cast<std::size_t>(out))};
      for (std::int64_t i = 0; i < out; ++i) {
        w.start[static_cast<std::size_t>(i)] = adaptive_start(i, in, out);
        w.end[static_cast<std::size_t>(i)] = adaptive_end(i, in, out);
      }
      return w;
    }
  };
};

}  // namespace ops
FERGEN_END_NAMESPACE
