// fergen/backend/cuda/conv2d.hpp: convolution on the GPU: cuDNN when the build has it and the context uses
// it, else im2col + cuBLAS over chunks of the batch.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/conv2d.hpp>
#include <fergen/backend/cuda/blas.hpp>
#include <fergen/backend/cuda/cudnn.hpp>
#include <fergen/backend/cuda/kernels/elementwise.cuh>
#include <fergen/backend/cuda/kernels/engine.cuh>
#include <fergen/backend/cuda/kernels/im2col.cuh>
#include <fergen/backend/cuda/kernels/reduce.cuh>
#include <fergen/backend/cuda/tensor.hpp>

#include <algorithm>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops {
namespace cuda_conv {

inline cuda_kernels::conv_dims dims(const shape& xs, const shape& ys, const conv2d_geometry& g) {
  return {xs.c,       xs.h,       xs.w,    ys.h,    ys.w,         g.kernel_h,  g.kernel_w,
          g.stride_h, g.stride_w, g.pad_h, g.pad_w, g.dilation_h, g.dilation_w};
}

// Images per chunk: as many as keep `floats_per_image` of scratch per image within the workspace limit, at
// least one.
inline std::int64_t chunk_images(std::size_t workspace_limit, std::int64_t images, std::int64_t floats_per_image) {
  const auto limit = static_cast<std::int64_t>(workspace_limit / sizeof(float));
  return std::clamp<std::int64_t>(limit / std::max<std::int64_t>(floats_per_image, 1), 1,
                                  std::max<std::int64_t>(images, 1));
}

// The products below are row-major (cuda_blas::gemm_args): per image, y_n [OC, P] = W [OC, K] col_n [K, P] and
// col_n [K, P] = W^T dy_n; for a chunk of B images, dW [OC, K] += dy [OC, B P] col [K, B P]^T. A pointwise
// convolution (1x1, stride 1, no padding) uses x itself as col. Written against an engine (kernels/engine.cuh):
// the test suite runs them on the host.

template <class Engine>
void gemm_forward(Engine& e, const float* x, const shape& xs, const float* w, const shape& ws, float* y,
                  const shape& ys, const conv2d_geometry& g) {
  const std::int64_t k = ws.c * ws.h * ws.w, p = ys.h * ys.w;
  if (g.pointwise()) {
    e.gemm({false, false, ys.c, p, k, 1.0f, w, k, 0, x, p, xs.per_sample(), 0.0f, y, p, ys.per_sample(), xs.n});
    return;
  }
  const std::int64_t chunk = chunk_images(e.workspace_limit(), xs.n, k * p);
  auto* col = static_cast<float*>(e.scratch(static_cast<std::size_t>(chunk * k * p) * sizeof(float)));
  for (std::int64_t n0 = 0; n0 < xs.n; n0 += chunk) {
    const std::int64_t images = std::min(chunk, xs.n - n0);
    e.for_each(images * k * p, cuda_kernels::im2col{x + n0 * xs.per_sample(), col, dims(xs, ys, g), k * p, p},
               "conv2d im2col");
    e.gemm({false, false, ys.c, p, k, 1.0f, w, k, 0, col, p, k * p, 0.0f, y + n0 * ys.per_sample(), p,
            ys.per_sample(), images});
  }
}

template <class Engine>
void gemm_backward_data(Engine& e, const float* dy, const shape& ys, const float* w, const shape& ws, float* dx,
                        const shape& xs, const conv2d_geometry& g) {
  const std::int64_t k = ws.c * ws.h * ws.w, p = ys.h * ys.w;
  if (g.pointwise()) {
    e.gemm({true, false, xs.c, p, ys.c, 1.0f, w, k, 0, dy, p, ys.per_sample(), 0.0f, dx, p, xs.per_sample(), xs.n});
    return;
  }
  const std::int64_t chunk = chunk_images(e.workspace_limit(), xs.n, k * p);
  auto* col = static_cast<float*>(e.scratch(static_cast<std::size_t>(chunk * k * p) * sizeof(float)));
  for (std::int64_t n0 = 0; n0 < xs.n; n0 += chunk) {
    const std::int64_t images = std::min(chunk, xs.n - n0);
    e.gemm({true, false, k, p, ys.c, 1.0f, w, k, 0, dy + n0 * ys.per_sample(), p, ys.per_sample(), 0.0f, col, p,
            k * p, images});
    e.for_each(images * xs.per_sample(), cuda_kernels::col2im{col, dx + n0 * xs.per_sample(), dims(xs, ys, g), k * p, p},
               "conv2d col2im");
  }
}

template <class Engine>
void gemm_backward_filter(Engine& e, const float* x, const shape& xs, const float* dy, const shape& ys, float* dw,
                          const shape& ws, const conv2d_geometry& g) {
  const std::int64_t k = ws.c * ws.h * ws.w, p = ys.h * ys.w;
  const std::int64_t chunk = chunk_images(e.workspace_limit(), xs.n, (k + ys.c) * p);
  // A chunk of one image needs no transposition: dy_n is [OC, P], and x_n is [K, P] when pointwise.
  const bool single = chunk == 1;
  const std::int64_t col_floats = single && g.pointwise() ? 0 : chunk * k * p;
  const std::int64_t dy_floats = single ? 0 : chunk * ys.c * p;
  auto* scratch = static_cast<float*>(
      e.scratch(static_cast<std::size_t>(std::max<std::int64_t>(col_floats + dy_floats, 1)) * sizeof(float)));
  float* col = scratch;
  float* dyt = scratch + col_floats;
  for (std::int64_t n0 = 0; n0 < xs.n; n0 += chunk) {
    const std::int64_t images = std::min(chunk, xs.n - n0);
    const std::int64_t columns = images * p;
    const float* xn = x + n0 * xs.per_sample();
    const float* dyn = dy + n0 * ys.per_sample();
    const float* a = dyn;
    const float* b = xn;
    if (!single) {
      e.for_each(images * ys.per_sample(), cuda_kernels::to_channel_major{dyn, dyt, images, ys.c, p},
                 "conv2d transpose");
      a = dyt;
    }
    if (g.pointwise()) {
      if (!single) {
        e.for_each(images * xs.per_sample(), cuda_kernels::to_channel_major{xn, col, images, xs.c, p},
                   "conv2d transpose");
        b = col;
      }
    } else {
      e.for_each(images * k * p, cuda_kernels::im2col{xn, col, dims(xs, ys, g), p, columns}, "conv2d im2col");
      b = col;
    }
    e.gemm({false, true, ys.c, k, columns, 1.0f, a, columns, 0, b, columns, 0, 1.0f, dw, k, 0, 1});
  }
}

}  // namespace cuda_conv

template <>
struct conv2d<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;
  using context_type = context<cuda<float>>;

  static void check(const shape& xs, const shape& ws, const conv2d_geometry& g) {
    g.validate();
    require(ws.h == g.kernel_h && ws.w == g.kernel_w, "conv2d: weight ", ws, " does not match the ", g.kernel_h, "x",
            g.kernel_w, " kernel");
    require(xs.c == ws.c, "conv2d: input ", xs, " has ", xs.c, " channels, the weight ", ws, " expects ", ws.c);
  }

  static tensor_type forward(context_type& ctx, const tensor_type& x, const tensor_type& weight,
                             const tensor_type* bias, const conv2d_geometry& g) {
    const shape xs = x.shape(), ws = weight.shape();
    check(xs, ws, g);
    const shape ys = g.output(xs, ws.n);
    if (bias) require(bias->size() == ws.n, "conv2d: bias of ", bias->size(), " values for ", ws.n, " filters");
    tensor_type y = tensor_type::uninitialized(ys);
    if (y.empty()) return y;
    if (xs.per_sample() == 0) {  // no input channels: the sum over them is empty
      y.fill(0);
    } else {
      auto& r = ctx.resources;
      bool done = false;
#if FERGEN_WITH_CUDNN
      if (r.use_cudnn) done = cuda_cudnn::forward(r, x.data(), xs, weight.data(), ws, y.data(), ys, g);
#endif
      if (!done) {
        cuda_kernels::device_engine e(r);
        cuda_conv::gemm_forward(e, x.data(), xs, weight.data(), ws, y.data(), ys, g);
      }
    }
    if (bias)
      cuda_kernels::for_each_index(ctx.resources.stream(), y.size(),
                                   cuda_kernels::add_channels{y.data(), bias->data(), ys.c, ys.plane()}, "conv2d bias");
    return y;
  }

  static tensor_type backward_data(context_type& ctx, const tensor_type& dy, const tensor_type& weight, const shape& xs,
                                   const conv2d_geometry& g) {
    const shape ws = weight.shape(), ys = dy.shape();
    check(xs, ws, g);
    require(ys == g.output(xs, ws.n), "conv2d backward: gradient ", ys, " does not match the output ",
            g.output(xs, ws.n), " of input ", xs);
    if (xs.size() == 0) return tensor_type(xs);
    if (ys.c == 0) return tensor_type(xs);  // no filters: nothing flows back
    tensor_type dx = tensor_type::uninitialized(xs);
    auto& r = ctx.resources;
    bool done = false;
#if FERGEN_WITH_CUDNN
    if (r.use_cudnn) done = cuda_cudnn::backward_data(r, dy.data(), ys, weight.data(), ws, dx.data(), xs, g);
#endif
    if (!done) {
      cuda_kernels::device_engine e(r);
      cuda_conv::gemm_backward_data(e, dy.data(), ys, weight.data(), ws, dx.data(), xs, g);
    }
    return dx;
  }

  // Accumulates into dweight and dbias (either may be null: a frozen parameter gets no gradient).
  static void backward_weight(context_type& ctx, const tensor_type& dy, const tensor_type& x, const conv2d_geometry& g,
                              tensor_type* dweight, tensor_type* dbias) {
    const shape xs = x.shape(), ys = dy.shape();
    if (dbias) {
      require(dbias->size() == ys.c, "conv2d backward: bias gradient of ", dbias->size(), " values for ", ys.c,
              " filters");
      cuda_kernels::device_engine e(ctx.resources);
      cuda_kernels::accumulate_channel_sums(e, dy.data(), ys.n, ys.c, ys.plane(), dbias->data(), "conv2d bias gradient");
    }
    if (!dweight) return;
    const shape ws = dweight->shape();
    check(xs, ws, g);
    require(ys == g.output(xs, ws.n), "conv2d backward: gradient ", ys, " does not match the output ",
            g.output(xs, ws.n), " of input ", xs);
    if (ys.size() == 0 || ws.size() == 0) return;
    auto& r = ctx.resources;
    bool done = false;
#if FERGEN_WITH_CUDNN
    if (r.use_cudnn) done = cuda_cudnn::backward_filter(r, x.data(), xs, dy.data(), ys, dweight->data(), ws, g);
#endif
    if (!done) {
      cuda_kernels::device_engine e(r);
      cuda_conv::gemm_backward_filter(e, x.data(), xs, dy.data(), ys, dweight->data(), ws, g);
    }
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
