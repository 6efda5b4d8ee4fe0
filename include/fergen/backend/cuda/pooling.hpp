// fergen/backend/cuda/pooling.hpp: max, average and adaptive average pooling on the GPU, with the CPU's
// windows, tie and NaN rules, divisors and order of summation (the results are the CPU's bit for bit).
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cuda/buffer.hpp>
#include <fergen/backend/cuda/kernels/pooling.cuh>
#include <fergen/backend/cuda/tensor.hpp>
#include <fergen/backend/pooling.hpp>

#include <cstdint>
#include <limits>
#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace ops {
namespace cuda_pool {

inline void check_gradient(std::string_view op, const shape& dy, const shape& expected, const shape& x) {
  require(dy == expected, op, " backward: gradient ", dy, " does not match the output ", expected, " of input ", x);
}

inline cuda_kernels::pool_dims dims(const shape& xs, const shape& ys, const pool2d_geometry& g) {
  return {xs.h, xs.w, ys.h, ys.w, g.kernel_h, g.kernel_w, g.stride_h, g.stride_w, g.pad_h, g.pad_w};
}

}  // namespace cuda_pool

template <>
struct max_pool2d<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;
  using context_type = context<cuda<float>>;
  // Per output element, h * W + w of its maximum within the input plane (PyTorch's indices), on the device.
  using indices_type = device_buffer<std::int32_t>;

  static tensor_type forward(context_type& ctx, const tensor_type& x, const pool2d_geometry& g, indices_type* indices) {
    g.validate("max_pool2d");
    const shape xs = x.shape(), ys = g.output(xs, "max_pool2d");
    require(xs.plane() <= std::numeric_limits<std::int32_t>::max(), g.describe("max_pool2d"), ": input ", xs,
            " has more than 2^31 elements per plane");
    tensor_type y = tensor_type::uninitialized(ys);
    if (indices) indices->resize(ys.size());
    cuda_kernels::for_each_index(ctx.resources.stream(), ys.size(),
                                 cuda_kernels::max_pool_forward{x.data(), y.data(), indices ? indices->data() : nullptr,
                                                                cuda_pool::dims(xs, ys, g)},
                                 "max_pool2d");
    return y;
  }

  static tensor_type backward(context_type& ctx, const tensor_type& dy, const indices_type& indices, const shape& xs,
                              const pool2d_geometry& g) {
    g.validate("max_pool2d");
    const shape ys = dy.shape();
    cuda_pool::check_gradient("max_pool2d", ys, g.output(xs, "max_pool2d"), xs);
    require(indices.size() == ys.size(), g.describe("max_pool2d"), " backward: ", indices.size(),
            " recorded indices for the gradient ", ys);
    tensor_type dx = tensor_type::uninitialized(xs);
    cuda_kernels::for_each_index(
        ctx.resources.stream(), xs.size(),
        cuda_kernels::max_pool_backward{dy.data(), indices.data(), dx.data(), cuda_pool::dims(xs, ys, g)},
        "max_pool2d backward");
    return dx;
  }
};

template <>
struct avg_pool2d<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;
  using context_type = context<cuda<float>>;

  static tensor_type forward(context_type& ctx, const tensor_type& x, const pool2d_geometry& g,
                             bool count_include_pad) {
    g.validate("avg_pool2d");
    const shape xs = x.shape(), ys = g.output(xs, "avg_pool2d");
    tensor_type y = tensor_type::uninitialized(ys);
    cuda_kernels::for_each_index(
        ctx.resources.stream(), ys.size(),
        cuda_kernels::avg_pool_forward{x.data(), y.data(), cuda_pool::dims(xs, ys, g), count_include_pad},
        "avg_pool2d");
    return y;
  }

  static tensor_type backward(context_type& ctx, const tensor_type& dy, const shape& xs, const pool2d_geometry& g,
                              bool count_include_pad) {
    g.validate("avg_pool2d");
    const shape ys = dy.shape();
    cuda_pool::check_gradient("avg_pool2d", ys, g.output(xs, "avg_pool2d"), xs);
    tensor_type dx = tensor_type::uninitialized(xs);
    cuda_kernels::for_each_index(
        ctx.resources.stream(), xs.size(),
        cuda_kernels::avg_pool_backward{dy.data(), dx.data(), cuda_pool::dims(xs, ys, g), count_include_pad},
        "avg_pool2d backward");
    return dx;
  }
};

template <>
struct adaptive_avg_pool2d<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;
  using context_type = context<cuda<float>>;

  static tensor_type forward(context_type& ctx, const tensor_type& x, std::int64_t out_h, std::int64_t out_w) {
    const shape xs = x.shape(), ys = adaptive_output(xs, out_h, out_w);
    tensor_type y = tensor_type::uninitialized(ys);
    cuda_kernels::for_each_index(ctx.resources.stream(), ys.size(),
                                 cuda_kernels::adaptive_pool_forward{x.data(), y.data(), xs.h, xs.w, ys.h, ys.w},
                                 "adaptive_avg_pool2d");
    return y;
  }

  static tensor_type backward(context_type& ctx, const tensor_type& dy, const shape& xs) {
    const shape ys = dy.shape();
    cuda_pool::check_gradient("adaptive_avg_pool2d", ys, adaptive_output(xs, ys.h, ys.w), xs);
    tensor_type dx = tensor_type::uninitialized(xs);
    cuda_kernels::for_each_index(ctx.resources.stream(), xs.size(),
                                 cuda_kernels::adaptive_pool_backward{dy.data(), dx.data(), xs.h, xs.w, ys.h, ys.w},
                                 "adaptive_avg_pool2d backward");
    return dx;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
