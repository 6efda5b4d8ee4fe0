// fergen/backend/cpu/activations.hpp: pointwise nonlinearities on the CPU.
#pragma once

#include <fergen/backend/activations.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/core/parallel.hpp>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <real T>
struct activation<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;
  static constexpr std::int64_t grain = 16384;  // elements per thread below which one thread is faster

  template <class F>
  static tensor_type forward(context<cpu<T>>&, const tensor_type& x, const F& f) {
    tensor_type y = tensor_type::uninitialized(x.shape());
    const T* in = x.data();
    T* out = y.data();
    parallel_for(x.size(), [&](std::int64_t i) { out[i] = f.value(in[i]); }, grain);
    return y;
  }

  template <class F>
  static tensor_type backward(context<cpu<T>>&, const tensor_type& x, const tensor_type& y, const tensor_type& dy,
                              const F& f) {
    require(dy.shape() == x.shape(), F::name, " backward: gradient ", dy.shape(), " does not match input ", x.shape());
    tensor_type dx = tensor_type::uninitialized(x.shape());
    const T *in = x.data(), *out = y.data(), *g = dy.data();
    T* d = dx.data();
    parallel_for(x.size(), [&](std::int64_t i) { d[i] = g[i] * f.derivative(in[i], out[i]); }, grain);
    return dx;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
