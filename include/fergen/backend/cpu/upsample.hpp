// fergen/backend/cpu/upsample.hpp: nearest-neighbour upsampling on the CPU, one task per (sample, channel)
// plane.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/backend/upsample.hpp>
#include <fergen/core/parallel.hpp>

#include <algorithm>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <real T>
struct upsample_nearest<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;
  using context_type = context<cpu<T>>;

  // Planes per thread below which one thread is faster.
  static constexpr std::int64_t grain(std::int64_t elements_per_plane) {
    return std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, elements_per_plane));
  }

  static tensor_type forward(context_type&, const tensor_type& x, std::int64_t scale) {
    const shape xs = x.shape(), ys = upsample_output(xs, scale);
    tensor_type y = tensor_type::uninitialized(ys);
    const std::int64_t in_plane = xs.plane(), out_plane = ys.plane();
    parallel_for(xs.n * xs.c, [&](std::int64_t p) {
      const T* in = x.data() + p * in_plane;
      T* out = y.data() + p * out_plane;
      for (std::int64_t ih = 0; ih < xs.h; ++ih) {
        // Widen one input row, then repeat it: the other scale - 1 rows are plain copies.
        T* row = out + ih * scale * ys.w;
        const T* src = in + ih * xs.w;
        for (std::int64_t iw = 0; iw < xs.w; ++iw) std::fill(row + iw * scale, row + (iw + 1) * scale, src[iw]);
        for (std::int64_t r = 1; r < scale; ++r) std::copy(row, row + ys.w, row + r * ys.w);
      }
    }, grain(out_plane));
    return y;
  }

  static tensor_type backward(context_type&, const tensor_type& dy, const shape& xs, std::int64_t scale) {
    const shape ys = dy.shape(), expected = upsample_output(xs, scale);
    require(ys == expected, "upsample_nearest(x", scale, ") backward: gradient ", ys, " does not match the output ",
            expected, " of input ", xs);
    tensor_type dx = tensor_type::uninitialized(xs);
    const std::int64_t in_plane = xs.plane(), out_plane = ys.plane();
    parallel_for(xs.n * xs.c, [&](std::int64_t p) {
      const T* g_out = dy.data() + p * out_plane;
      T* g_in = dx.data() + p * in_plane;
      for (std::int64_t ih = 0; ih < xs.h; ++ih) {
        for (std::int64_t iw = 0; iw < xs.w; ++iw) {
          // Row by row from zero, PyTorch's order of accumulation, so float sums round alike.
          T sum = 0;
          const T* block = g_out + ih * scale * ys.w + iw * scale;
          for (std::int64_t r = 0; r < scale; ++r)
            for (std::int64_t s = 0; s < scale; ++s) sum += block[r * ys.w + s];
          g_in[ih * xs.w + iw] = sum;
        }
      }
    }, grain(out_plane));
    return dx;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
