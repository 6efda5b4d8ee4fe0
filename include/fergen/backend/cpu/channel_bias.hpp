// fergen/backend/cpu/channel_bias.hpp: the per-sample channel bias on the CPU, one task per (sample, channel).
#pragma once

#include <fergen/backend/channel_bias.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/core/parallel.hpp>

#include <algorithm>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <real T>
struct channel_bias<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;
  using context_type = context<cpu<T>>;

  static constexpr std::int64_t grain(std::int64_t plane) {
    return std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, plane));
  }

  static tensor_type forward(context_type&, const tensor_type& x, const tensor_type& bias) {
    const shape xs = x.shape();
    check_channel_bias(xs, bias.shape(), "channel_bias");
    tensor_type y = tensor_type::uninitialized(xs);
    const std::int64_t plane = xs.plane();
    const T* in = x.data();
    const T* b = bias.data();
    T* out = y.data();
    parallel_for(xs.n * xs.c, [&](std::int64_t i) {
      const T v = b[i];
      const T* src = in + i * plane;
      T* dst = out + i * plane;
      for (std::int64_t p = 0; p < plane; ++p) dst[p] = src[p] + v;
    }, grain(plane));
    return y;
  }

  static tensor_type backward_bias(context_type&, const tensor_type& dy) {
    const shape ys = dy.shape();
    tensor_type db = tensor_type::uninitialized({ys.n, ys.c, 1, 1});
    const std::int64_t plane = ys.plane();
    const T* g = dy.data();
    T* out = db.data();
    parallel_for(ys.n * ys.c, [&](std::int64_t i) {
      double sum = 0;
      const T* src = g + i * plane;
      for (std::int64_t p = 0; p < plane; ++p) sum += static_cast<double>(src[p]);
      out[i] = static_cast<T>(sum);
    }, grain(plane));
    return db;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
