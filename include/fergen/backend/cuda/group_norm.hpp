// fergen/backend/cuda/group_norm.hpp: group normalisation on the GPU: statistics per (sample, group) in
// double by fixed-order reductions, the CPU kernel's arithmetic, elementwise passes in float.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cuda/kernels/engine.cuh>
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
    result_type r{tensor_type::uninitialized(xs), tensor_type::uninitialized({xs.n, groups, 1, 1}),
                  tensor_type::uninitialized({xs.n, groups, 1, 1})};
    if (xs.n * groups == 0) return r;
    cuda_kernels::device_engine e(ctx.resources);
    cuda_kernels::group_norm_forward(e, x.data(), xs, groups, weight ? weight->data() : nullptr,
                                     bias ? bias->data() : nullptr, eps, r.y.data(), r.mean.data(), r.invstd.data());
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
    tensor_type dx = tensor_type::uninitialized(xs);
    if (xs.n * xs.c == 0) return dx;
    cuda_kernels::device_engine e(ctx.resources);
    cuda_kernels::group_norm_backward(e, dy.data(), x.data(), xs, groups, weight ? weight->data() : nullptr,
                                      mean.data(), invstd.data(), dweight ? dweight->data() : nullptr,
                                      dbias ? dbias->data() : nullptr, dx.data());
    return dx;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
