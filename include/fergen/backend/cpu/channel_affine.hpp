// fergen/backend/cpu/channel_affine.hpp: the channel map on the CPU, one task per output plane.
#pragma once

#include <fergen/backend/channel_affine.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/core/parallel.hpp>

#include <algorithm>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <real T>
struct channel_affine<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;

  static tensor_type forward(context<cpu<T>>&, const tensor_type& x, const channel_map& map) {
    const shape xs = x.shape();
    map.validate(xs);
    tensor_type y = tensor_type::uninitialized({xs.n, map.outputs, xs.h, xs.w});
    const std::int64_t plane = xs.plane();
    parallel_for(xs.n * map.outputs, [&](std::int64_t task) {
      const std::int64_t n = task / map.outputs, j = task % map.outputs;
      T* out = y.data() + task * plane;
      std::fill(out, out + plane, map.shift.empty() ? T{0} : static_cast<T>(map.shift[static_cast<std::size_t>(j)]));
      for (std::int64_t c = 0; c < map.inputs; ++c) {
        const T m = static_cast<T>(map.matrix[static_cast<std::size_t>(j * map.inputs + c)]);
        const T* in = x.data() + (n * xs.c + c) * plane;
        for (std::int64_t i = 0; i < plane; ++i) out[i] += m * in[i];
      }
    }, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, plane * map.inputs)));
    return y;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
