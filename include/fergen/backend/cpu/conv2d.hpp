// fergen/backend/cpu/conv2d.hpp: convolution on the CPU: oneDNN's kernels where the build has them
// (conv2d_onednn.hpp), else, and as the reference, Winograd for 3x3 stride 1 and im2col + gemm: per image for
// large maps (with a copy-free 1x1 path), as one product over the whole batch for small maps.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/conv2d.hpp>
#include <fergen/backend/cpu/blas.hpp>
#include <fergen/backend/cpu/conv2d_epilogue.hpp>
#include <fergen/backend/cpu/conv2d_onednn.hpp>
#include <fergen/backend/cpu/strided_range.hpp>
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/backend/cpu/winograd.hpp>
#include <fergen/core/parallel.hpp>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace ops {
namespace cpu_conv {

// How a batch is cut into independent tasks (for maps of at least batch_product_below pixels). With at
// least as many images as threads, one task per image; otherwise each image is cut into pieces (column
// ranges for forward and the weight gradient, channel ranges for the data gradient, whose col2im scatters
// would otherwise collide).
struct plan {
  std::int64_t pieces_per_image;
  std::int64_t tasks;
  static plan make(std::int64_t images, std::int64_t extent, std::int64_t min_piece) {
    const std::int64_t threads = thread_count();
    std::int64_t pieces = images >= threads ? 1 : cpu_strided::ceil_div(threads, std::max<std::int64_t>(images, 1));
    pieces = std::max<std::int64_t>(1, std::min(pieces, extent / std::max<std::int64_t>(min_piece, 1)));
    return {pieces, images * pieces};
  }
  std::int64_t image(std::int64_t task) const { return task / pieces_per_image; }
  std::pair<std::int64_t, std::int64_t> range(std::int64_t task, std::int64_t extent) const {
    const std::int64_t piece = task % pieces_per_image;
    return {extent * piece / pieces_per_image, extent * (piece + 1) / pieces_per_image};
  }
};

// Columns [p0, p1) of the im2col matrix of one image: row (c, kh, kw), column p = oh * OW + ow holds
// x[c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw], or 0 in the padding. Rows are `stride` apart in col.
template <class T>
void im2col(const T* x, const shape& xs, const conv2d_geometry& g, std::int64_t out_w, std::int64_t p0,
            std::int64_t p1, T* col, std::int64_t stride) {
  for (std::int64_t c = 0; c < xs.c; ++c) {
    for (std::int64_t kh = 0; kh < g.kernel_h; ++kh) {
      for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
        T* dst = col + ((c * g.kernel_h + kh) * g.kernel_w + kw) * stride;
        const cpu_strided::valid_range cols = cpu_strided::inside(kw * g.dilation_w - g.pad_w, g.stride_w, xs.w, out_w);
        for (std::int64_t p = p0; p < p1;) {
          const std::int64_t oh = p / out_w, ow0 = p % out_w;
          const std::int64_t ow1 = std::min(out_w, ow0 + (p1 - p));
          T* out = dst + (p - p0);
          const std::int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
          if (ih < 0 || ih >= xs.h) {
            std::fill(out, out + (ow1 - ow0), T{0});
          } else {
            const T* src = x + (c * xs.h + ih) * xs.w + kw * g.dilation_w - g.pad_w;
            const std::int64_t lo = std::clamp(cols.lo, ow0, ow1), hi = std::clamp(cols.hi, lo, ow1);
            std::fill(out, out + (lo - ow0), T{0});
            if (g.stride_w == 1) {
              std::memcpy(out + (lo - ow0), src + lo, static_cast<std::size_t>(hi - lo) * sizeof(T));
            } else {
              for (std::int64_t ow = lo; ow < hi; ++ow) out[ow - ow0] = src[ow * g.stride_w];
            }
            std::fill(out + (hi - ow0), out + (ow1 - ow0), T{0});
          }
          p += ow1 - ow0;
        }
      }
    }
  }
}

// The adjoint of im2col for channels [c0, c1): scatter-adds rows of col (all P columns, rows `stride`
// apart) into x.
template <class T>
void col2im(const T* col, const shape& xs, const conv2d_geometry& g, std::int64_t out_h, std::int64_t out_w,
            std::int64_t c0, std::int64_t c1, T* x, std::int64_t stride) {
  for (std::int64_t c = c0; c < c1; ++c) {
    for (std::int64_t kh = 0; kh < g.kernel_h; ++kh) {
      for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
        const T* src = col + (((c - c0) * g.kernel_h + kh) * g.kernel_w + kw) * stride;
        const cpu_strided::valid_range cols = cpu_strided::inside(kw * g.dilation_w - g.pad_w, g.stride_w, xs.w, out_w);
        for (std::int64_t oh = 0; oh < out_h; ++oh) {
          const std::int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
          if (ih < 0 || ih >= xs.h) continue;
          T* dst = x + (c * xs.h + ih) * xs.w + kw * g.dilation_w - g.pad_w;
          const T* row = src + oh * out_w;
          for (std::int64_t ow = cols.lo; ow < cols.hi; ++ow) dst[ow * g.stride_w] += row[ow];
        }
      }
    }
  }
}

template <class T>
cpu_detail::scratch_buffer<T> scratch(std::int64_t count) {
  return cpu_detail::scratch_buffer<T>(count);
}

// Small feature maps (ResNet's last stages: 10x10, 5x5) would give per-image products only P columns wide,
// too narrow for the BLAS kernels to run at speed. For them the whole batch becomes one product over N*P
// columns, which the threads split; the copies in and out of that layout are cheap at these sizes.
constexpr std::int64_t batch_product_below = 256;  // output pixels per map; measured with bench_core

// [N, C, P] <-> [C, N*P]: the layout of the batch product.
template <class T>
void to_channel_major(const T* src, std::int64_t n, std::int64_t c, std::int64_t p, T* dst) {
  parallel_for(n * c, [&](std::int64_t i) {
    const std::int64_t image = i / c, channel = i % c;
    std::copy_n(src + i * p, p, dst + (channel * n + image) * p);
  }, 64);
}
template <class T>
void from_channel_major(const T* src, std::int64_t n, std::int64_t c, std::int64_t p, T* dst) {
  parallel_for(n * c, [&](std::int64_t i) {
    const std::int64_t image = i / c, channel = i % c;
    std::copy_n(src + (channel * n + image) * p, p, dst + i * p);
  }, 64);
}

}  // namespace cpu_conv

template <real T>
struct conv2d<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;
  using context_type = context<cpu<T>>;

  static void check(const shape& xs, const shape& ws, const conv2d_geometry& g) {
    g.validate();
    require(ws.h == g.kernel_h && ws.w == g.kernel_w, "conv2d: weight ", ws, " does not match the ", g.kernel_h,
            "x", g.kernel_w, " kernel");
    require(xs.c == ws.c, "conv2d: input ", xs, " has ", xs.c, " channels, the weight ", ws, " expects ", ws.c);
  }

  static tensor_type forward(context_type& ctx, const tensor_type& x, const tensor_type& weight, const tensor_type* bias,
                             const conv2d_geometry& g) {
    return forward(ctx, x, weight, bias, g, cpu_conv::epilogue<T>{});
  }

  // The convolution with `after` applied to its output (conv2d_fused's CPU kernel): by each path where its output
  // is still hot (a oneDNN post-op, the rows a gemm task has just written), else in one pass.
  static tensor_type forward(context_type& ctx, const tensor_type& x, const tensor_type& weight, const tensor_type* bias,
                             const conv2d_geometry& g, const cpu_conv::epilogue<T>& after) {
    const shape xs = x.shape(), ws = weight.shape();
    check(xs, ws, g);
    const shape ys = g.output(xs, ws.n);
    if (bias) require(bias->size() == ws.n, "conv2d: bias of ", bias->size(), " values for ", ws.n, " filters");
    tensor_type y = tensor_type::uninitialized(ys);
    const cpu_kernels kernels = ctx.resources.kernels;
#if FERGEN_CPU_ONEDNN
    if constexpr (std::is_same_v<T, float>) {
      if (cpu_onednn::use_primitive(kernels, cpu_onednn::conv_pass::forward_training, xs, ws, g)) {
        const cpu_onednn::conv_problem problem{xs, ws, ys, g};
        const float* b = bias ? bias->data() : nullptr;
        if (cpu_onednn::forward(x.data(), weight.data(), b, y.data(), problem, ctx.record, after)) return y;
        // No fast kernel with these post-ops: the plain primitive, then the epilogue in one pass.
        if (!after.empty() && cpu_onednn::forward(x.data(), weight.data(), b, y.data(), problem, ctx.record, {})) {
          after.apply_all(y.data(), ys);
          return y;
        }
      }
    }
#endif
    if (cpu_winograd::applies(g, xs, ws.n)) {
      cpu_winograd::convolve(x.data(), xs, cpu_winograd::transform_weights(weight.data(), ws.n, ws.c, false), ws.n,
                             bias ? bias->data() : nullptr, y.data(), kernels);
      after.apply_all(y.data(), ys);
      return y;
    }
    const std::int64_t k = ws.c * ws.h * ws.w, p = ys.h * ys.w;
    const T* w = weight.data();
    if (p < cpu_conv::batch_product_below) {
      const std::int64_t np = xs.n * p;
      auto col = cpu_conv::scratch<T>(k * np), out = cpu_conv::scratch<T>(ys.c * np);
      parallel_for(xs.n, [&](std::int64_t n) {
        cpu_conv::im2col(x.data() + n * xs.per_sample(), xs, g, ys.w, 0, p, col.get() + n * p, np);
      });
      cpu_blas::parallel_gemm(false, false, ys.c, np, k, T{1}, w, k, col.get(), np, T{0}, out.get(), np, kernels);
      cpu_conv::from_channel_major(out.get(), ys.n, ys.c, p, y.data());
      if (bias || !after.empty()) {
        parallel_for(ys.n * ys.c, [&](std::int64_t i) {
          T* row = y.data() + i * p;
          if (bias) {
            const T b = bias->data()[i % ys.c];
            for (std::int64_t j = 0; j < p; ++j) row[j] += b;
          }
          after.apply(row, i % ys.c, p);
        }, 64);
      }
      return y;
    }
    const auto plan = cpu_conv::plan::make(xs.n, p, 256);
    parallel_for(plan.tasks, [&](std::int64_t task) {
      const std::int64_t n = plan.image(task);
      const auto [p0, p1] = plan.range(task, p);
      const T* xn = x.data() + n * xs.per_sample();
      T* yn = y.data() + n * ys.per_sample();
      T beta = 0;
      if (bias) {
        for (std::int64_t oc = 0; oc < ys.c; ++oc) std::fill(yn + oc * p + p0, yn + oc * p + p1, bias->data()[oc]);
        beta = 1;
      }
      if (g.pointwise()) {
        cpu_blas::gemm(false, false, ys.c, p1 - p0, k, T{1}, w, k, xn + p0, p, beta, yn + p0, p, kernels);
      } else {
        auto col = cpu_conv::scratch<T>(k * (p1 - p0));
        cpu_conv::im2col(xn, xs, g, ys.w, p0, p1, col.get(), p1 - p0);
        cpu_blas::gemm(false, false, ys.c, p1 - p0, k, T{1}, w, k, col.get(), p1 - p0, beta, yn + p0, p, kernels);
      }
      for (std::int64_t oc = 0; oc < ys.c; ++oc) after.apply(yn + oc * p + p0, oc, p1 - p0);
    });
    return y;
  }

  static tensor_type backward_data(context_type& ctx, const tensor_type& dy, const tensor_type& weight, const shape& xs,
                                   const conv2d_geometry& g) {
    const shape ws = weight.shape(), ys = dy.shape();
    check(xs, ws, g);
    require(ys == g.output(xs, ws.n), "conv2d backward: gradient ", ys, " does not match the output ",
            g.output(xs, ws.n), " of input ", xs);
    const std::int64_t taps = ws.h * ws.w, k = ws.c * taps, p = ys.h * ys.w;
    const T* w = weight.data();
    const cpu_kernels kernels = ctx.resources.kernels;
#if FERGEN_CPU_ONEDNN
    if constexpr (std::is_same_v<T, float>) {
      if (cpu_onednn::use_primitive(kernels, cpu_onednn::conv_pass::backward_data, xs, ws, g)) {
        tensor_type dx = tensor_type::uninitialized(xs);
        if (cpu_onednn::backward_data(dy.data(), w, dx.data(), {xs, ws, ys, g})) return dx;
      }
    }
#endif
    // A 3x3 stride-1 padding-1 convolution's data gradient is the convolution of dy with the kernel turned by
    // 180 degrees, input and output channels swapped: the same Winograd path.
    if (cpu_winograd::applies(g, ys, xs.c)) {
      tensor_type dx = tensor_type::uninitialized(xs);
      cpu_winograd::convolve(dy.data(), ys, cpu_winograd::transform_weights(w, xs.c, ws.n, true), xs.c,
                             static_cast<const T*>(nullptr), dx.data(), kernels);
      return dx;
    }
    if (p < cpu_conv::batch_product_below) {
      tensor_type dx(xs);
      const std::int64_t np = xs.n * p;
      auto dyc = cpu_conv::scratch<T>(ys.c * np), col = cpu_conv::scratch<T>(k * np);
      cpu_conv::to_channel_major(dy.data(), ys.n, ys.c, p, dyc.get());
      cpu_blas::parallel_gemm(true, false, k, np, ys.c, T{1}, w, k, dyc.get(), np, T{0}, col.get(), np, kernels);
      parallel_for(xs.n, [&](std::int64_t n) {
        cpu_conv::col2im(col.get() + n * p, xs, g, ys.h, ys.w, 0, xs.c, dx.data() + n * xs.per_sample(), np);
      });
      return dx;
    }
    tensor_type dx = g.pointwise() ? tensor_type::uninitialized(xs) : tensor_type(xs);
    const auto plan = cpu_conv::plan::make(xs.n, xs.c, 8);
    parallel_for(plan.tasks, [&](std::int64_t task) {
      const std::int64_t n = plan.image(task);
      const auto [c0, c1] = plan.range(task, xs.c);
      const T* dyn = dy.data() + n * ys.per_sample();
      T* dxn = dx.data() + n * xs.per_sample();
      // Rows [c0 * taps, c1 * taps) of weight^T are columns of weight: offset the pointer, keep lda = k.
      if (g.pointwise()) {
        cpu_blas::gemm(true, false, c1 - c0, p, ys.c, T{1}, w + c0, k, dyn, p, T{0}, dxn + c0 * p, p, kernels);
      } else {
        auto col = cpu_conv::scratch<T>((c1 - c0) * taps * p);
        cpu_blas::gemm(true, false, (c1 - c0) * taps, p, ys.c, T{1}, w + c0 * taps, k, dyn, p, T{0}, col.get(), p,
                       kernels);
        cpu_conv::col2im(col.get(), xs, g, ys.h, ys.w, c0, c1, dxn, p);
      }
    });
    return dx;
  }

  // Accumulates into dweight and dbias (either may be null: a frozen parameter gets no gradient).
  static void backward_weight(context_type& ctx, const tensor_type& dy, const tensor_type& x, const conv2d_geometry& g,
                              tensor_type* dweight, tensor_type* dbias) {
    const shape xs = x.shape(), ys = dy.shape();
    const std::int64_t p = ys.h * ys.w;
    const cpu_kernels kernels = ctx.resources.kernels;
    if (dbias)
      require(dbias->size() == ys.c, "conv2d backward: bias gradient of ", dbias->size(), " values for ", ys.c,
              " filters");
    if (dweight) {  // checked before either gradient is written, whichever path computes them
      const shape ws = dweight->shape();
      check(xs, ws, g);
      require(ys == g.output(xs, ws.n), "conv2d backward: gradient ", ys, " does not match the output ",
              g.output(xs, ws.n), " of input ", xs);
    }
#if FERGEN_CPU_ONEDNN
    if constexpr (std::is_same_v<T, float>) {
      if (dweight && cpu_onednn::use_primitive(kernels, cpu_onednn::conv_pass::backward_weights, xs, dweight->shape(), g)) {
        const shape ws = dweight->shape();
        if (cpu_onednn::backward_weights(x.data(), dy.data(), dweight->data(), dbias ? dbias->data() : nullptr,
                                         {xs, ws, ys, g}))
          return;
      }
    }
#endif
    if (dbias) {
      T* db = dbias->data();
      parallel_for(ys.c, [&](std::int64_t oc) {
        double sum = 0;
        for (std::int64_t n = 0; n < ys.n; ++n) {
          const T* row = dy.data() + (n * ys.c + oc) * p;
          for (std::int64_t i = 0; i < p; ++i) sum += row[i];
        }
        db[oc] += static_cast<T>(sum);
      });
    }
    if (!dweight) return;
    const shape ws = dweight->shape();
    const std::int64_t k = ws.c * ws.h * ws.w;
    if (p < cpu_conv::batch_product_below) {
      const std::int64_t np = xs.n * p;
      auto dyc = cpu_conv::scratch<T>(ys.c * np), col = cpu_conv::scratch<T>(k * np);
      cpu_conv::to_channel_major(dy.data(), ys.n, ys.c, p, dyc.get());
      parallel_for(xs.n, [&](std::int64_t n) {
        cpu_conv::im2col(x.data() + n * xs.per_sample(), xs, g, ys.w, 0, p, col.get() + n * p, np);
      });
      // Blocks of the product write disjoint parts of the gradient: it accumulates in place.
      cpu_blas::parallel_gemm(false, true, ws.n, k, np, T{1}, dyc.get(), np, col.get(), np, T{1}, dweight->data(), k,
                              kernels);
      return;
    }
    // One accumulator per thread, summed at the end: images contribute to the same weight gradient.
    const int threads = thread_count();
    std::vector<cpu_detail::scratch_buffer<T>> partial(static_cast<std::size_t>(threads));
    const auto plan = cpu_conv::plan::make(xs.n, p, 256);
    parallel_for(plan.tasks, [&](std::int64_t task) {
      const std::int64_t n = plan.image(task);
      const auto [p0, p1] = plan.range(task, p);
      auto& acc = partial[static_cast<std::size_t>(thread_index())];
      if (!acc) {
        acc = cpu_conv::scratch<T>(ws.n * k);
        std::fill(acc.get(), acc.get() + ws.n * k, T{0});
      }
      const T* xn = x.data() + n * xs.per_sample();
      const T* dyn = dy.data() + n * ys.per_sample();
      if (g.pointwise()) {
        cpu_blas::gemm(false, true, ws.n, k, p1 - p0, T{1}, dyn + p0, p, xn + p0, p, T{1}, acc.get(), k, kernels);
      } else {
        auto col = cpu_conv::scratch<T>(k * (p1 - p0));
        cpu_conv::im2col(xn, xs, g, ys.w, p0, p1, col.get(), p1 - p0);
        cpu_blas::gemm(false, true, ws.n, k, p1 - p0, T{1}, dyn + p0, p, col.get(), p1 - p0, T{1}, acc.get(), k,
                       kernels);
      }
    });
    T* dw = dweight->data();
    parallel_for(ws.n * k, [&](std::int64_t i) {
      for (const auto& acc : partial)
        if (acc) dw[i] += acc[static_cast<std::size_t>(i)];
    }, 4096);
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
