// fergen/backend/cuda/batch_norm.hpp: batch normalisation on the GPU: per-channel statistics in double by
// fixed-order reductions (deterministic), the CPU kernel's per-channel arithmetic, elementwise passes in float.
#pragma once

#include <fergen/backend/batch_norm.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/cuda/kernels/batch_norm.cuh>
#include <fergen/backend/cuda/kernels/engine.cuh>
#include <fergen/backend/cuda/tensor.hpp>
#include <fergen/core/error.hpp>

#include <cmath>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <>
struct batch_norm<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;
  using context_type = context<cuda<float>>;
  using result_type = batch_norm_result<cuda<float>>;

  static void check_channel_tensor(const tensor_type* t, const shape& xs, const char* what) {
    if (t)
      require(t->size() == xs.c, "batch_norm: ", what, " holds ", t->size(), " values, input ", xs, " has ", xs.c,
              " channels");
  }

  static void check_eps(double eps) {
    require(std::isfinite(eps) && eps >= 0, "batch_norm: eps must be finite and non-negative, got ", eps);
  }

  static result_type forward_training(context_type& ctx, const tensor_type& x, const tensor_type* weight,
                                      const tensor_type* bias, double eps, tensor_type* running_mean,
                                      tensor_type* running_var, double factor) {
    const shape xs = x.shape();
    const std::int64_t channels = xs.c, plane = xs.plane(), count = xs.n * plane;
    check_eps(eps);
    require(count > 1, "batch_norm: expected more than 1 value per channel when training, input ", xs, " has ", count);
    check_channel_tensor(weight, xs, "weight");
    check_channel_tensor(bias, xs, "bias");
    require((running_mean == nullptr) == (running_var == nullptr),
            "batch_norm: running_mean and running_var must be given together");
    check_channel_tensor(running_mean, xs, "running_mean");
    check_channel_tensor(running_var, xs, "running_var");
    if (running_mean)
      require(factor >= 0 && factor <= 1, "batch_norm: running average factor must lie in [0, 1], got ", factor);

    result_type r{tensor_type::uninitialized(xs), tensor_type::uninitialized({channels, 1, 1, 1}),
                  tensor_type::uninitialized({channels, 1, 1, 1})};
    if (channels == 0) return r;
    cuda_kernels::device_engine e(ctx.resources);
    cuda_kernels::batch_norm_training(e, x.data(), xs, weight ? weight->data() : nullptr, bias ? bias->data() : nullptr,
                                      eps, running_mean ? running_mean->data() : nullptr,
                                      running_var ? running_var->data() : nullptr, factor, r.y.data(), r.mean.data(),
                                      r.invstd.data());
    return r;
  }

  static result_type forward_inference(context_type& ctx, const tensor_type& x, const tensor_type* weight,
                                       const tensor_type* bias, const tensor_type& running_mean,
                                       const tensor_type& running_var, double eps) {
    const shape xs = x.shape();
    const std::int64_t channels = xs.c;
    check_eps(eps);
    check_channel_tensor(weight, xs, "weight");
    check_channel_tensor(bias, xs, "bias");
    check_channel_tensor(&running_mean, xs, "running_mean");
    check_channel_tensor(&running_var, xs, "running_var");
    result_type r{tensor_type::uninitialized(xs), tensor_type::uninitialized({channels, 1, 1, 1}),
                  tensor_type::uninitialized({channels, 1, 1, 1})};
    if (channels == 0) return r;
    cuda_kernels::device_engine e(ctx.resources);
    cuda_kernels::batch_norm_inference(e, x.data(), xs, weight ? weight->data() : nullptr, bias ? bias->data() : nullptr,
                                       running_mean.data(), running_var.data(), eps, r.y.data(), r.mean.data(),
                                       r.invstd.data());
    return r;
  }

  static tensor_type backward(context_type& ctx, const tensor_type& dy, const tensor_type& x, const tensor_type* weight,
                              const tensor_type& mean, const tensor_type& invstd, batch_norm_statistics statistics,
                              tensor_type* dweight, tensor_type* dbias) {
    const shape xs = x.shape();
    require(dy.shape() == xs, "batch_norm backward: gradient ", dy.shape(), " does not match the input ", xs);
    check_channel_tensor(weight, xs, "weight");
    check_channel_tensor(&mean, xs, "saved mean");
    check_channel_tensor(&invstd, xs, "saved invstd");
    check_channel_tensor(dweight, xs, "weight gradient");
    check_channel_tensor(dbias, xs, "bias gradient");
    tensor_type dx = tensor_type::uninitialized(xs);
    if (xs.c == 0) return dx;
    cuda_kernels::device_engine e(ctx.resources);
    cuda_kernels::batch_norm_backward(e, dy.data(), x.data(), xs, weight ? weight->data() : nullptr, mean.data(),
                                      invstd.data(), statistics == batch_norm_statistics::batch,
                                      dweight ? dweight->data() : nullptr, dbias ? dbias->data() : nullptr, dx.data());
    return dx;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
