// fergen/backend/cuda/channel_bias.hpp: the per-sample channel bias on the GPU (the UNet's embedding injection).
#pragma once

#include <fergen/backend/channel_bias.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/cuda/kernels/channel_bias.cuh>
#include <fergen/backend/cuda/kernels/engine.cuh>
#include <fergen/backend/cuda/tensor.hpp>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <>
struct channel_bias<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;
  using context_type = context<cuda<float>>;

  static tensor_type forward(context_type& ctx, const tensor_type& x, const tensor_type& bias) {
    const shape xs = x.shape();
    check_channel_bias(xs, bias.shape(), "channel_bias");
    tensor_type y = tensor_type::uninitialized(xs);
    cuda_kernels::device_engine e(ctx.resources);
    cuda_kernels::channel_bias_forward(e, x.data(), bias.data(), xs.n * xs.c, xs.plane(), y.data());
    return y;
  }

  static tensor_type backward_bias(context_type& ctx, const tensor_type& dy) {
    const shape ys = dy.shape();
    tensor_type db = tensor_type::uninitialized({ys.n, ys.c, 1, 1});
    cuda_kernels::device_engine e(ctx.resources);
    cuda_kernels::channel_bias_backward(e, dy.data(), ys.n * ys.c, ys.plane(), db.data());
    return db;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
