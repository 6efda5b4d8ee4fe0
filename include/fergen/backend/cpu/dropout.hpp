// fergen/backend/cpu/dropout.hpp: inverted dropout on the CPU.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/backend/dropout.hpp>
#include <fergen/core/parallel.hpp>
#include <fergen/core/rng.hpp>

#include <utility>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <real T>
struct dropout<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;
  static constexpr std::int64_t grain = 16384;

  static std::pair<tensor_type, tensor_type> forward(context<cpu<T>>&, const tensor_type& x, double p,
                                                     const random_stream& stream) {
    tensor_type y = tensor_type::uninitialized(x.shape());
    tensor_type mask = tensor_type::uninitialized(x.shape());
    // p = 1 drops everything (PyTorch returns zeros); the factor is never infinite.
    const T keep_scale = p < 1.0 ? static_cast<T>(1.0 / (1.0 - p)) : T(0);
    const auto threshold = static_cast<float>(p);
    const T* in = x.data();
    T *out = y.data(), *m = mask.data();
    parallel_for(x.size(), [&](std::int64_t i) {
      m[i] = stream.uniform(static_cast<std::uint64_t>(i)) >= threshold ? keep_scale : T(0);
      out[i] = in[i] * m[i];
    }, grain);
    return {std::move(y), std::move(mask)};
  }

  static tensor_type backward(context<cpu<T>>&, const tensor_type& dy, const tensor_type& mask) {
    require(dy.shape() == mask.shape(), "dropout backward: gradient ", dy.shape(), " does not match ", mask.shape());
    tensor_type dx = tensor_type::uninitialized(dy.shape());
    const T *g = dy.data(), *m = mask.data();
    T* d = dx.data();
    parallel_for(dy.size(), [&](std::int64_t i) { d[i] = g[i] * m[i]; }, grain);
    return dx;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
