// fergen/backend/cuda/channel_affine.hpp: the channel map on the GPU (the backbones' gray input path).
#pragma once

#include <fergen/backend/channel_affine.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/cuda/kernels/channel_affine.cuh>
#include <fergen/backend/cuda/kernels/engine.cuh>
#include <fergen/backend/cuda/tensor.hpp>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <>
struct channel_affine<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;

  static tensor_type forward(context<cuda<float>>& ctx, const tensor_type& x, const channel_map& map) {
    const shape xs = x.shape();
    map.validate(xs);
    tensor_type y = tensor_type::uninitialized({xs.n, map.outputs, xs.h, xs.w});
    cuda_kernels::device_engine e(ctx.resources);
    cuda_kernels::channel_affine_forward(e, x.data(), xs.n, xs.plane(), map, y.data());
    return y;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
