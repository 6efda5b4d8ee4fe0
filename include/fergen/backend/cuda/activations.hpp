// fergen/backend/cuda/activations.hpp: pointwise nonlinearities on the GPU, with the FERGEN_HD functions of
// backend/activations.hpp (the CPU computes the same expressions).
#pragma once

#include <fergen/backend/activations.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/cuda/kernels/elementwise.cuh>
#include <fergen/backend/cuda/tensor.hpp>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <>
struct activation<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;
  using context_type = context<cuda<float>>;

  template <class F>
  static tensor_type forward(context_type& ctx, const tensor_type& x, const F& f) {
    tensor_type y = tensor_type::uninitialized(x.shape());
    cuda_kernels::for_each_index(ctx.resources.stream(), x.size(),
                                 cuda_kernels::activation_forward<F>{x.data(), y.data(), f}, F::name);
    return y;
  }

  template <class F>
  static tensor_type backward(context_type& ctx, const tensor_type& x, const tensor_type& y, const tensor_type& dy,
                              const F& f) {
    require(dy.shape() == x.shape(), F::name, " backward: gradient ", dy.shape(), " does not match input ", x.shape());
    require(y.shape() == x.shape(), F::name, " backward: output ", y.shape(), " does not match input ", x.shape());
    tensor_type dx = tensor_type::uninitialized(x.shape());
    cuda_kernels::for_each_index(ctx.resources.stream(), x.size(),
                                 cuda_kernels::activation_backward<F>{x.data(), y.data(), dy.data(), dx.data(), f},
                                 F::name);
    return dx;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
