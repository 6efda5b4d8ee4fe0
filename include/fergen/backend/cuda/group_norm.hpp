// fergen/backend/cuda/group_norm.hpp: group normalisation on the GPU: statistics per (sample, group) in
// double by fixed-order reductions, the CPU kernel's arithmetic, elementwise passes in float.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cuda/kernels/group_norm.cuh>
#include <fergen/backend/cuda/tensor.hpp>
#include <fergen/backend/group_norm.hpp>
#include <fergen/core/error.hpp>

#include <cmath>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <>
struct group_norm<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;
  using context_type = context<cuda<float>>;
  using result_type = group_norm_result<cuda<float>>;

  static void check(const shape& xs, std::int64_t groups) {
    require(groups > 0 && xs.c % groups == 0, "group_norm: input ", xs, " has ", xs.c,
            " channels, which do not divide into ", groups, " groups");
  }

  static void check_channel_tensor(const tensor_type* t, const shape& xs, const char* what) {
    if (t)
      require(t->size() == xs.c, "group_norm: ", what, " holds ", t->size(), " values, input ", xs, " has ", xs.c,
              " channels");
  }

  static result_type forward(context_type& ctx, const tensor_type& x, std::int64_t groups, const tensor_type* weight,
                             const tensor_type* bias, double eps) {
    const shape xs = x.shape();
    check(xs, groups);
    require(std::isfinite(eps) && eps >= 0, "group_norm: eps must be finite and non-negative, got ", eps);
    check_channel_tensor(weight, xs, "weight");
    check_channel_tensor(bias, xs, "bias");
    const std::int64_t per_group = xs.c / groups, plane = xs.plane(), count = per_group * plane;
    const std::int64_t segments = xs.n * groups;
    result_type r{tensor_type::uninitialized(xs), tensor_type::uninitialized({xs.n, groups, 1, 1}),
                  tensor_type::uninitialized({xs.n, groups, 1, 1})};
    if (segments == 0) return r;
    auto& rt = ctx.resources.runtime();
    const cuda_detail::device_allocation mean(rt, static_cast<std::size_t>(segments) * sizeof(double),
                                              "group_norm means");
    const cuda_detail::device_allocation stats(
        rt, static_cast<std::size_t>(segments) * sizeof(cuda_kernels::group_statistics), "group_norm statistics");
    const cuda_detail::device_allocation constants(
        rt, static_cast<std::size_t>(xs.n * xs.c) * sizeof(cuda_kernels::affine_constants), "group_norm constants");
    auto* mu = static_cast<double*>(mean.get());
    auto* st = static_cast<cuda_kernels::group_statistics*>(stats.get());
    auto* k = static_cast<cuda_kernels::affine_constants*>(constants.get());
    // The channels of one group of one sample are contiguous in NCHW: one segment of `count` values.
    const cuda_kernels::contiguous_index index{count};
    const auto n = static_cast<double>(count);
    cuda_kernels::segment_sums<1>(rt, segments, count,
                                  cuda_kernels::load_value<cuda_kernels::contiguous_index>{x.data(), index},
                                  cuda_kernels::store_mean{mu, n}, "group_norm mean");
    cuda_kernels::segment_sums<1>(
        rt, segments, count, cuda_kernels::load_squared_deviation<cuda_kernels::contiguous_index>{x.data(), index, mu},
        cuda_kernels::group_norm_forward_finish{mu, r.mean.data(), r.invstd.data(), st, n, eps}, "group_norm variance");
    cuda_kernels::for_each_index(rt.stream, xs.n * xs.c,
                                 cuda_kernels::group_norm_constants{st, weight ? weight->data() : nullptr,
                                                                    bias ? bias->data() : nullptr, k, xs.c, groups},
                                 "group_norm constants");
    cuda_kernels::for_each_index(rt.stream, xs.size(),
                                 cuda_kernels::normalize{x.data(), r.y.data(), k, xs.n * xs.c, plane}, "group_norm");
    return r;
  }

  static tensor_type backward(context_type& ctx, const tensor_type& dy, const tensor_type& x, std::int64_t groups,
                              const tensor_type* weight, const tensor_type& mean, const tensor_type& invstd,
                              tensor_type* dweight, tensor_type* dbias) {
    const shape xs = x.shape();
    check(xs, groups);
    require(dy.shape() == xs, "group_norm backward: gradient ", dy.shape(), " does not match the input ", xs);
    const shape ss{xs.n, groups, 1, 1};
    require(mean.shape() == ss && invstd.shape() == ss, "group_norm backward: saved statistics ", mean.shape(), " and ",
            invstd.shape(), " do not match ", ss, " for input ", xs, " in ", groups, " groups");
    check_channel_tensor(weight, xs, "weight");
    check_channel_tensor(dweight, xs, "weight gradient");
    check_channel_tensor(dbias, xs, "bias gradient");
    const std::int64_t channels = xs.c, per_group = channels / groups, plane = xs.plane();
    const std::int64_t count = per_group * plane;
    tensor_type dx = tensor_type::uninitialized(xs);
    if (xs.n * channels == 0) return dx;
    auto& rt = ctx.resources.runtime();
    const cuda_detail::device_allocation channel_sums(
        rt, static_cast<std::size_t>(xs.n * channels) * sizeof(cuda_kernels::sums<3>), "group_norm channel sums");
    const cuda_detail::device_allocation k_dy(rt, static_cast<std::size_t>(xs.n * channels) * sizeof(float),
                                              "group_norm constants");
    const cuda_detail::device_allocation constants(
        rt, static_cast<std::size_t>(xs.n * groups) * sizeof(cuda_kernels::group_gradient_constants),
        "group_norm constants");
    auto* sums = static_cast<cuda_kernels::sums<3>*>(channel_sums.get());
    auto* kdy = static_cast<float*>(k_dy.get());
    auto* k = static_cast<cuda_kernels::group_gradient_constants*>(constants.get());
    cuda_kernels::segment_sums<3>(
        rt, xs.n * channels, plane,
        cuda_kernels::load_plane_gradient_sums{dy.data(), x.data(), mean.data(), plane, channels, groups},
        cuda_kernels::store_sums3{sums}, "group_norm backward");
    cuda_kernels::for_each_index(
        rt.stream, xs.n * groups,
        cuda_kernels::group_norm_backward_group{sums, weight ? weight->data() : nullptr, mean.data(), invstd.data(), kdy,
                                                k, channels, groups, static_cast<double>(count)},
        "group_norm backward");
    cuda_kernels::for_each_index(
        rt.stream, xs.size(),
        cuda_kernels::group_norm_backward_data{dy.data(), x.data(), dx.data(), kdy, k, plane, channels, groups},
        "group_norm backward");
    if (dweight || dbias)
      cuda_kernels::for_each_index(
          rt.stream, channels,
          cuda_kernels::group_norm_parameter_gradients{sums, invstd.data(), dweight ? dweight->data() : nullptr,
                                                       dbias ? dbias->data() : nullptr, xs.n, channels, groups},
          "group_norm backward");
    return dx;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
