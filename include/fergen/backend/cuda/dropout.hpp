// fergen/backend/cuda/dropout.hpp: inverted dropout on the GPU, with the CPU's mask bit for bit.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cuda/kernels/dropout.cuh>
#include <fergen/backend/cuda/kernels/elementwise.cuh>
#include <fergen/backend/cuda/tensor.hpp>
#include <fergen/backend/dropout.hpp>
#include <fergen/core/rng.hpp>

#include <utility>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <>
struct dropout<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;
  using context_type = context<cuda<float>>;

  static std::pair<tensor_type, tensor_type> forward(context_type& ctx, const tensor_type& x, double p,
                                                     const random_stream& stream) {
    tensor_type y = tensor_type::uninitialized(x.shape());
    tensor_type mask = tensor_type::uninitialized(x.shape());
    cuda_kernels::for_each_index(
        ctx.resources.stream(), cuda_kernels::dropout_blocks(x.size()),
        cuda_kernels::make_dropout_forward(x.data(), y.data(), mask.data(), x.size(), p, stream), "dropout");
    return {std::move(y), std::move(mask)};
  }

  static tensor_type backward(context_type& ctx, const tensor_type& dy, const tensor_type& mask) {
    require(dy.shape() == mask.shape(), "dropout backward: gradient ", dy.shape(), " does not match ", mask.shape());
    tensor_type dx = tensor_type::uninitialized(dy.shape());
    cuda_kernels::for_each_index(ctx.resources.stream(), dy.size(),
                                 cuda_kernels::multiply_values{dy.data(), mask.data(), dx.data()}, "dropout backward");
    return dx;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
