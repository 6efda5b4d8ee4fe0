// fergen/backend/cpu/activations.hpp: pointwise nonlinearities on the CPU.
#pragma once

#include <fergen/backend/activations.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/backend/cpu/vector_clones.hpp>
#include <fergen/core/parallel.hpp>

#include <cstdint>
#include <type_traits>

FERGEN_BEGIN_NAMESPACE
namespace ops {

namespace cpu_vector {

// The float loops, compiled per instruction set (vector_clones.hpp): an activation's value and derivative are
// straight-line arithmetic (fast_silu.hpp's exponential) that wider lanes speed up in proportion.
template <class F>
FERGEN_VECTOR_CLONES void activation_forward(const float* x, float* y, std::int64_t n, F f) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = f.value(x[i]);
}
template <class F>
FERGEN_VECTOR_CLONES void activation_backward(const float* x, const float* y, const float* dy, float* dx,
                                              std::int64_t n, F f) {
  for (std::int64_t i = 0; i < n; ++i) dx[i] = dy[i] * f.derivative(x[i], y[i]);
}

}  // namespace cpu_vector

template <real T>
struct activation<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;
  static constexpr std::int64_t grain = 16384;  // elements per thread below which one thread is faster

  template <class F>
  static tensor_type forward(context<cpu<T>>&, const tensor_type& x, const F& f) {
    tensor_type y = tensor_type::uninitialized(x.shape());
    const T* in = x.data();
    T* out = y.data();
    if constexpr (std::is_same_v<T, float>) {
      parallel_ranges(x.size(), [&](int, std::int64_t b, std::int64_t e) {
        cpu_vector::activation_forward(in + b, out + b, e - b, f);
      }, grain);
    } else {
      parallel_for(x.size(), [&](std::int64_t i) { out[i] = f.value(in[i]); }, grain);
    }
    return y;
  }

  template <class F>
  static tensor_type backward(context<cpu<T>>&, const tensor_type& x, const tensor_type& y, const tensor_type& dy,
                              const F& f) {
    require(dy.shape() == x.shape(), F::name, " backward: gradient ", dy.shape(), " does not match input ", x.shape());
    tensor_type dx = tensor_type::uninitialized(x.shape());
    const T *in = x.data(), *out = y.data(), *g = dy.data();
    T* d = dx.data();
    if constexpr (std::is_same_v<T, float>) {
      parallel_ranges(x.size(), [&](int, std::int64_t b, std::int64_t e) {
        cpu_vector::activation_backward(in + b, out + b, g + b, d + b, e - b, f);
      }, grain);
    } else {
      parallel_for(x.size(), [&](std::int64_t i) { d[i] = g[i] * f.derivative(in[i], out[i]); }, grain);
    }
    return dx;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
