// fergen/backend/cuda/linear.hpp: the fully connected op on the GPU, three cuBLAS products.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cuda/blas.hpp>
#include <fergen/backend/cuda/kernels/elementwise.cuh>
#include <fergen/backend/cuda/kernels/engine.cuh>
#include <fergen/backend/cuda/kernels/reduce.cuh>
#include <fergen/backend/cuda/tensor.hpp>
#include <fergen/backend/linear.hpp>

FERGEN_BEGIN_NAMESPACE
namespace ops {

namespace cuda_linear {

// The three passes over an engine (kernels/engine.cuh), row-major as cpu linear: y [N, out] = x [N, in] W^T + b,
// dx [N, in] = dy W, dW [out, in] += dy^T x, db += column sums of dy.
template <class Engine>
void forward(Engine& e, const float* x, std::int64_t n, std::int64_t in, const float* w, std::int64_t out,
             const float* bias, float* y) {
  if (bias) e.for_each(n * out, cuda_kernels::broadcast_channels{y, bias, out, 1}, "linear bias");
  e.gemm({false, true, n, out, in, 1.0f, x, in, 0, w, in, 0, bias ? 1.0f : 0.0f, y, out, 0, 1});
}

template <class Engine>
void backward_data(Engine& e, const float* dy, std::int64_t n, std::int64_t out, const float* w, std::int64_t in,
                   float* dx) {
  if (out == 0) {
    e.for_each(n * in, cuda_kernels::fill_values{dx, 0.0f}, "linear backward");
    return;
  }
  e.gemm({false, false, n, in, out, 1.0f, dy, out, 0, w, in, 0, 0.0f, dx, in, 0, 1});
}

template <class Engine>
void backward_weight(Engine& e, const float* dy, const float* x, std::int64_t n, std::int64_t out, std::int64_t in,
                     float* dweight, float* dbias) {
  if (dweight) e.gemm({true, false, out, in, n, 1.0f, dy, out, 0, x, in, 0, 1.0f, dweight, in, 0, 1});
  if (dbias) cuda_kernels::accumulate_channel_sums(e, dy, n, out, 1, dbias, "linear bias gradient");
}

}  // namespace cuda_linear

template <>
struct linear<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;
  using context_type = context<cuda<float>>;

  static tensor_type forward(context_type& ctx, const tensor_type& x, const tensor_type& weight, const tensor_type* bias) {
    const shape xs = x.shape(), ws = weight.shape();
    require(xs.per_sample() == ws.c, "linear: input ", xs, " has ", xs.per_sample(), " features, the weight (", ws.n,
            ", ", ws.c, ") expects ", ws.c);
    if (bias) require(bias->size() == ws.n, "linear: bias of ", bias->size(), " values for ", ws.n, " outputs");
    tensor_type y = tensor_type::uninitialized({xs.n, ws.n, 1, 1});
    cuda_kernels::device_engine e(ctx.resources);
    cuda_linear::forward(e, x.data(), xs.n, ws.c, weight.data(), ws.n, bias ? bias->data() : nullptr, y.data());
    return y;
  }

  static tensor_type backward_data(context_type& ctx, const tensor_type& dy, const tensor_type& weight) {
    const shape ys = dy.shape(), ws = weight.shape();
    require(ys.per_sample() == ws.n, "linear backward: gradient ", ys, " does not match ", ws.n, " outputs");
    tensor_type dx = tensor_type::uninitialized({ys.n, ws.c, 1, 1});
    cuda_kernels::device_engine e(ctx.resources);
    cuda_linear::backward_data(e, dy.data(), ys.n, ws.n, weight.data(), ws.c, dx.data());
    return dx;
  }

  static void backward_weight(context_type& ctx, const tensor_type& dy, const tensor_type& x, tensor_type* dweight,
                              tensor_type* dbias) {
    const shape ys = dy.shape(), xs = x.shape();
    const std::int64_t out = ys.per_sample(), in = xs.per_sample();
    if (dweight)
      require(dweight->size() == out * in, "linear backward: weight gradient ", dweight->shape(), " for ", out,
              " outputs and ", in, " inputs");
    if (dbias)
      require(dbias->size() == out, "linear backward: bias gradient of ", dbias->size(), " values for ", out,
              " outputs");
    cuda_kernels::device_engine e(ctx.resources);
    cuda_linear::backward_weight(e, dy.data(), x.data(), ys.n, out, in, dweight ? dweight->data() : nullptr,
                                 dbias ? dbias->data() : nullptr);
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
