// fergen/backend/cuda/embedding.hpp: table lookup on the GPU (the UNet's label embedding).
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cuda/kernels/embedding.cuh>
#include <fergen/backend/cuda/kernels/engine.cuh>
#include <fergen/backend/cuda/tensor.hpp>
#include <fergen/backend/embedding.hpp>

#include <cstdint>
#include <span>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <>
struct embedding<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;
  using context_type = context<cuda<float>>;

  static tensor_type forward(context_type& ctx, const tensor_type& weight, std::span<const std::int64_t> indices) {
    const shape ws = weight.shape();
    check_embedding_indices(indices, ws.n, "embedding");
    const std::int64_t dim = ws.per_sample();
    tensor_type y = tensor_type::uninitialized({static_cast<std::int64_t>(indices.size()), dim, 1, 1});
    cuda_kernels::device_engine e(ctx.resources);
    cuda_kernels::embedding_forward(e, weight.data(), dim, indices, y.data());
    return y;
  }

  static void backward(context_type& ctx, const tensor_type& dy, std::span<const std::int64_t> indices,
                       tensor_type& dweight) {
    const shape ws = dweight.shape();
    const std::int64_t dim = ws.per_sample();
    require(dy.shape() == shape{static_cast<std::int64_t>(indices.size()), dim, 1, 1}, "embedding backward: gradient ",
            dy.shape(), " does not match ", indices.size(), " rows of ", dim, " values");
    check_embedding_indices(indices, ws.n, "embedding backward");
    cuda_kernels::device_engine e(ctx.resources);
    cuda_kernels::embedding_backward(e, dy.data(), indices, ws.n, dim, dweight.data());
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
