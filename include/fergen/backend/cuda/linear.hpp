// fergen/backend/cuda/linear.hpp: the fully connected op on the GPU, three cuBLAS products.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cuda/blas.hpp>
#include <fergen/backend/cuda/kernels/elementwise.cuh>
#include <fergen/backend/cuda/kernels/reduce.cuh>
#include <fergen/backend/cuda/tensor.hpp>
#include <fergen/backend/linear.hpp>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <>
struct linear<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;
  using context_type = context<cuda<float>>;

  static tensor_type forward(context_type& ctx, const tensor_type& x, const tensor_type& weight, const tensor_type* bias) {
    const shape xs = x.shape(), ws = weight.shape();
    require(xs.per_sample() == ws.c, "linear: input ", xs, " has ", xs.per_sample(), " features, the weight (", ws.n,
            ", ", ws.c, ") expects ", ws.c);
    tensor_type y = tensor_type::uninitialized({xs.n, ws.n, 1, 1});
    float beta = 0;
    if (bias) {
      require(bias->size() == ws.n, "linear: bias of ", bias->size(), " values for ", ws.n, " outputs");
      cuda_kernels::for_each_index(ctx.resources.stream(), y.size(),
                                   cuda_kernels::broadcast_channels{y.data(), bias->data(), ws.n, 1}, "linear bias");
      beta = 1;
    }
    cuda_blas::gemm(ctx.resources, false, true, xs.n, ws.n, ws.c, 1.0f, x.data(), ws.c, weight.data(), ws.c, beta,
                    y.data(), ws.n);
    return y;
  }

  static tensor_type backward_data(context_type& ctx, const tensor_type& dy, const tensor_type& weight) {
    const shape ys = dy.shape(), ws = weight.shape();
    require(ys.per_sample() == ws.n, "linear backward: gradient ", ys, " does not match ", ws.n, " outputs");
    tensor_type dx = tensor_type::uninitialized({ys.n, ws.c, 1, 1});
    if (ws.n == 0) {
      dx.fill(0);
      return dx;
    }
    cuda_blas::gemm(ctx.resources, false, false, ys.n, ws.c, ws.n, 1.0f, dy.data(), ws.n, weight.data(), ws.c, 0.0f,
                    dx.data(), ws.c);
    return dx;
  }

  static void backward_weight(context_type& ctx, const tensor_type& dy, const tensor_type& x, tensor_type* dweight,
                              tensor_type* dbias) {
    const shape ys = dy.shape(), xs = x.shape();
    const std::int64_t out = ys.per_sample(), in = xs.per_sample();
    if (dweight) {
      require(dweight->size() == out * in, "linear backward: weight gradient ", dweight->shape(), " for ", out,
              " outputs and ", in, " inputs");
      cuda_blas::gemm(ctx.resources, true, false, out, in, ys.n, 1.0f, dy.data(), out, x.data(), in, 1.0f,
                      dweight->data(), in);
    }
    if (dbias) {
      require(dbias->size() == out, "linear backward: bias gradient of ", dbias->size(), " values for ", out,
              " outputs");
      cuda_kernels::accumulate_channel_sums(ctx.resources.runtime(), dy.data(), ys.n, out, 1, dbias->data(),
                                            "linear bias gradient");
    }
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
