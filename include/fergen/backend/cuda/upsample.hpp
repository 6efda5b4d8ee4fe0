// fergen/backend/cuda/upsample.hpp: nearest-neighbour upsampling on the GPU (the CPU's results bit for bit).
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cuda/kernels/pooling.cuh>
#include <fergen/backend/cuda/tensor.hpp>
#include <fergen/backend/upsample.hpp>

#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <>
struct upsample_nearest<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;
  using context_type = context<cuda<float>>;

  static tensor_type forward(context_type& ctx, const tensor_type& x, std::int64_t scale) {
    const shape xs = x.shape(), ys = upsample_output(xs, scale);
    tensor_type y = tensor_type::uninitialized(ys);
    cuda_kernels::for_each_index(ctx.resources.stream(), ys.size(),
                                 cuda_kernels::upsample_forward{x.data(), y.data(), xs.h, xs.w, scale},
                                 "upsample_nearest");
    return y;
  }

  static tensor_type backward(context_type& ctx, const tensor_type& dy, const shape& xs, std::int64_t scale) {
    const shape ys = dy.shape(), expected = upsample_output(xs, scale);
    require(ys == expected, "upsample_nearest(x", scale, ") backward: gradient ", ys, " does not match the output ",
            expected, " of input ", xs);
    tensor_type dx = tensor_type::uninitialized(xs);
    cuda_kernels::for_each_index(ctx.resources.stream(), xs.size(),
                                 cuda_kernels::upsample_backward{dy.data(), dx.data(), xs.h, xs.w, scale},
                                 "upsample_nearest backward");
    return dx;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
