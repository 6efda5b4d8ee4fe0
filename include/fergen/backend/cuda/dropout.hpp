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
    // As the CPU: p = 1 drops everything (PyTorch returns zeros); the factor is never infinite.
    const float keep_scale = p < 1.0 ? static_cast<float>(1.0 / (1.0 - p)) : 0.0f;
    const auto threshold = static_cast<float>(p);
    cuda_kernels::for_each_index(
        ctx.resources.stream(), (x.size() + 3) / 4,
        cuda_kernels::dropout_forward{x.data(), y.data(), mask.data(), x.size(), stream, threshold, keep_scale},
        "dropout");
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
