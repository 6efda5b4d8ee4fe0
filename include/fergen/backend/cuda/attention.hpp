// fergen/backend/cuda/attention.hpp: the UNet's self-attention on the GPU: cuBLAS products batched over the
// samples, one head at a time, and the CPU's softmax arithmetic per row.
#pragma once

#include <fergen/backend/attention.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/cuda/kernels/attention.cuh>
#include <fergen/backend/cuda/kernels/engine.cuh>
#include <fergen/backend/cuda/tensor.hpp>

#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <>
struct attention<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;
  using context_type = context<cuda<float>>;
  using result_type = attention_result<cuda<float>>;

  static result_type forward(context_type& ctx, const tensor_type& qkv, std::int64_t heads, bool keep_weights) {
    const shape qs = qkv.shape();
    const std::int64_t c = attention_channels(qs, heads, "attention");
    const std::int64_t t = qs.plane();
    result_type r{tensor_type::uninitialized({qs.n, c, qs.h, qs.w}),
                  keep_weights ? tensor_type::uninitialized({qs.n * heads, t, t, 1}) : tensor_type()};
    cuda_kernels::device_engine e(ctx.resources);
    cuda_kernels::attention_forward(e, qkv.data(), qs, heads, r.y.data(), keep_weights ? r.weights.data() : nullptr);
    return r;
  }

  static tensor_type backward(context_type& ctx, const tensor_type& dy, const tensor_type& qkv, const tensor_type& weights,
                              std::int64_t heads) {
    const shape qs = qkv.shape();
    const std::int64_t c = attention_channels(qs, heads, "attention backward");
    const std::int64_t t = qs.plane();
    require(dy.shape() == shape{qs.n, c, qs.h, qs.w}, "attention backward: gradient ", dy.shape(),
            " does not match the output [", qs.n, ", ", c, ", ", qs.h, ", ", qs.w, "]");
    require(weights.shape() == shape{qs.n * heads, t, t, 1}, "attention backward: saved weights ", weights.shape(),
            " do not match ", qs.n * heads, " blocks of ", t, " x ", t, " (run forward with keep_weights)");
    tensor_type dqkv = tensor_type::uninitialized(qs);
    cuda_kernels::device_engine e(ctx.resources);
    cuda_kernels::attention_backward(e, dy.data(), qkv.data(), weights.data(), qs, heads, dqkv.data());
    return dqkv;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
