// fergen/backend/cuda/batch_norm.hpp: batch normalisation on the GPU: per-channel statistics in double by
// fixed-order reductions (deterministic), the CPU kernel's per-channel arithmetic, elementwise passes in float.
#pragma once

#include <fergen/backend/batch_norm.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/cuda/kernels/batch_norm.cuh>
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
    require(count > 1, "batch_norm: expected more than 1 value per channel when training, input ", xs, " has ",
            count);
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
    auto& rt = ctx.resources.runtime();
    const cuda_detail::device_allocation mean(rt, static_cast<std::size_t>(channels) * sizeof(double),
                                              "batch_norm means");
    const cuda_detail::device_allocation constants(
        rt, static_cast<std::size_t>(channels) * sizeof(cuda_kernels::affine_constants), "batch_norm constants");
    auto* mu = static_cast<double*>(mean.get());
    auto* k = static_cast<cuda_kernels::affine_constants*>(constants.get());
    const cuda_kernels::channel_index index{channels, plane};
    const auto n = static_cast<double>(count);
    // Two passes, mean first, as the CPU: sum (x - mean)^2 does not cancel as sum x^2 - n mean^2 does.
    cuda_kernels::segment_sums<1>(rt, channels, count, cuda_kernels::load_value<cuda_kernels::channel_index>{x.data(), index},
                                  cuda_kernels::store_mean{mu, n}, "batch_norm mean");
    cuda_kernels::segment_sums<1>(
        rt, channels, count, cuda_kernels::load_squared_deviation<cuda_kernels::channel_index>{x.data(), index, mu},
        cuda_kernels::batch_norm_train_finish{mu, weight ? weight->data() : nullptr, bias ? bias->data() : nullptr,
                                              r.mean.data(), r.invstd.data(),
                                              running_mean ? running_mean->data() : nullptr,
                                              running_var ? running_var->data() : nullptr, k, n, eps, factor},
        "batch_norm variance");
    cuda_kernels::for_each_index(rt.stream, xs.size(),
                                 cuda_kernels::normalize{x.data(), r.y.data(), k, channels, plane}, "batch_norm");
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
    auto& rt = ctx.resources.runtime();
    const cuda_detail::device_allocation constants(
        rt, static_cast<std::size_t>(channels) * sizeof(cuda_kernels::affine_constants), "batch_norm constants");
    auto* k = static_cast<cuda_kernels::affine_constants*>(constants.get());
    cuda_kernels::for_each_index(
        rt.stream, channels,
        cuda_kernels::batch_norm_inference_constants{running_mean.data(), running_var.data(),
                                                     weight ? weight->data() : nullptr, bias ? bias->data() : nullptr,
                                                     r.mean.data(), r.invstd.data(), k, eps},
        "batch_norm inference");
    cuda_kernels::for_each_index(rt.stream, xs.size(),
                                 cuda_kernels::normalize{x.data(), r.y.data(), k, channels, xs.plane()}, "batch_norm");
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
    const std::int64_t channels = xs.c, plane = xs.plane(), count = xs.n * plane;
    const bool through_statistics = statistics == batch_norm_statistics::batch;
    const bool need_sums = through_statistics || dweight || dbias;
    tensor_type dx = tensor_type::uninitialized(xs);
    if (channels == 0) return dx;
    auto& rt = ctx.resources.runtime();
    const cuda_detail::device_allocation constants(
        rt, static_cast<std::size_t>(channels) * sizeof(cuda_kernels::gradient_constants), "batch_norm constants");
    auto* k = static_cast<cuda_kernels::gradient_constants*>(constants.get());
    const cuda_kernels::batch_norm_backward_finish finish{weight ? weight->data() : nullptr,
                                                          mean.data(),
                                                          invstd.data(),
                                                          dweight ? dweight->data() : nullptr,
                                                          dbias ? dbias->data() : nullptr,
                                                          k,
                                                          static_cast<double>(count),
                                                          through_statistics};
    if (need_sums) {
      cuda_kernels::segment_sums<3>(
          rt, channels, count,
          cuda_kernels::load_gradient_sums{dy.data(), x.data(), mean.data(), {channels, plane}}, finish,
          "batch_norm backward");
    } else {
      cuda_kernels::for_each_index(rt.stream, channels, cuda_kernels::batch_norm_backward_finish_without_sums{finish},
                                   "batch_norm backward");
    }
    cuda_kernels::for_each_index(
        rt.stream, xs.size(),
        cuda_kernels::batch_norm_backward_data{dy.data(), x.data(), dx.data(), k, channels, plane, through_statistics},
        "batch_norm backward");
    return dx;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
