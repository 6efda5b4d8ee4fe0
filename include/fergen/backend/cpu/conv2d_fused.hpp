// fergen/backend/cpu/conv2d_fused.hpp: the CPU's fused convolution (backend/conv2d_fused.hpp): the BatchNorm's
// per-channel constants computed once, then conv2d's forward with them as its epilogue (oneDNN post-ops, or applied
// by each gemm task to the rows it has just written).
#pragma once

#include <fergen/backend/conv2d_fused.hpp>
#include <fergen/backend/cpu/batch_norm.hpp>
#include <fergen/backend/cpu/conv2d.hpp>
#include <fergen/backend/cpu/conv2d_epilogue.hpp>
#include <fergen/backend/cpu/memory_pool.hpp>

#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <real T>
struct conv2d_fused<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;

  static tensor_type forward(context<cpu<T>>& ctx, const tensor_type& x, const tensor_type& weight,
                             const tensor_type* bias, const conv2d_geometry& g, const conv2d_epilogue<cpu<T>>& e) {
    cpu_conv::epilogue<T> after{.relu = e.relu};
    cpu_detail::scratch_buffer<T> constants;  // mean, scale, shift: C values each
    if (const auto* n = e.normalization) {
      using norm = batch_norm<cpu<T>>;
      const std::int64_t channels = weight.shape().n;
      require(n->mean && n->var, "conv2d_fused: the normalisation needs its running mean and variance");
      // What the checks read of the convolution's output: its channel count.
      norm::check_running({x.shape().n, channels, 1, 1}, n->weight, n->bias, *n->mean, *n->var, n->eps);
      constants = cpu_detail::scratch_buffer<T>(3 * channels);
      T* mean = constants.get();
      T* scale = mean + channels;
      T* shift = scale + channels;
      const T* gamma = n->weight ? n->weight->data() : nullptr;
      const T* beta = n->bias ? n->bias->data() : nullptr;
      for (std::int64_t c = 0; c < channels; ++c) {
        const double invstd = norm::running_invstd(n->var->data()[c], n->eps);
        const cpu_batch_norm::channel_constants<T> k(n->mean->data()[c], invstd, gamma, beta, c);
        mean[c] = k.m;
        scale[c] = k.a;
        shift[c] = k.b;
      }
      after.mean = mean;
      after.scale = scale;
      after.shift = shift;
    }
    return conv2d<cpu<T>>::forward(ctx, x, weight, bias, g, after);
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
