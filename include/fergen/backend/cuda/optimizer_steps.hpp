// fergen/backend/cuda/optimizer_steps.hpp: the optimisers' update kernels on the GPU (one fused kernel per
// parameter: the update reads and writes each element once).
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cuda/kernels/elementwise.cuh>
#include <fergen/backend/cuda/kernels/optimizer.cuh>
#include <fergen/backend/cuda/tensor.hpp>
#include <fergen/backend/optimizer_steps.hpp>

#include <cmath>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// The hyper-parameters are cast to float once on the host, as the CPU kernel casts them to T; the element
// expressions are the CPU's. (nvcc contracts a * b + c into one fused multiply-add, so results agree with
// the CPU to float rounding, not to the bit.)
template <>
struct optimizer_steps<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;
  using context_type = context<cuda<float>>;

  static void sgd_step(context_type& ctx, tensor_type& value, const tensor_type& grad, tensor_type* momentum_buffer,
                       const sgd_step_options& o, bool first_step) {
    require(grad.size() == value.size() && (!momentum_buffer || momentum_buffer->size() == value.size()),
            "sgd_step: parameter ", value.shape(), ", gradient ", grad.shape(), " and momentum buffer ",
            momentum_buffer ? momentum_buffer->shape() : value.shape(), " differ in size");
    cuda_kernels::for_each_index(ctx.resources.stream(), value.size(),
                                 cuda_kernels::make_sgd_update(value.data(), grad.data(),
                                                               momentum_buffer ? momentum_buffer->data() : nullptr, o,
                                                               first_step),
                                 "sgd_step");
  }

  static void adam_step(context_type& ctx, tensor_type& value, const tensor_type& grad, tensor_type& exp_avg,
                        tensor_type& exp_avg_sq, const adam_step_options& o) {
    require(grad.size() == value.size() && exp_avg.size() == value.size() && exp_avg_sq.size() == value.size(),
            "adam_step: parameter ", value.shape(), ", gradient ", grad.shape(), ", exp_avg ", exp_avg.shape(),
            " and exp_avg_sq ", exp_avg_sq.shape(), " differ in size");
    cuda_kernels::for_each_index(
        ctx.resources.stream(), value.size(),
        cuda_kernels::make_adam_update(value.data(), grad.data(), exp_avg.data(), exp_avg_sq.data(), o), "adam_step");
  }

  static void ema_step(context_type& ctx, tensor_type& shadow, const tensor_type& value, double decay) {
    require(shadow.size() == value.size(), "ema_step: average ", shadow.shape(), " and parameter ", value.shape(),
            " differ in size");
    cuda_kernels::for_each_index(ctx.resources.stream(), shadow.size(),
                                 cuda_kernels::make_ema_update(shadow.data(), value.data(), decay), "ema_step");
  }

  static void scale(context_type& ctx, tensor_type& x, double alpha) {
    cuda_kernels::for_each_index(ctx.resources.stream(), x.size(),
                                 cuda_kernels::scale_values{x.data(), x.data(), static_cast<float>(alpha)}, "scale");
  }

  static void copy(context_type& ctx, tensor_type& into, const tensor_type& from) {
    require(into.size() == from.size(), "copy: destination ", into.shape(), " and source ", from.shape(),
            " differ in size");
    if (into.empty()) return;
    FERGEN_CUDA_CHECK(cudaMemcpyAsync(into.data(), from.data(), static_cast<std::size_t>(into.size()) * sizeof(float),
                                      cudaMemcpyDeviceToDevice, ctx.resources.stream()));
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
