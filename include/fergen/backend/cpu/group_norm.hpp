// fergen/backend/cpu/group_norm.hpp: group normalisation on the CPU, one task per (sample, group).
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/batch_norm.hpp>  // the double-accumulating reductions of cpu_batch_norm
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/backend/group_norm.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/parallel.hpp>
#include <fergen/core/shape.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <real T>
struct group_norm<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;
  using context_type = context<cpu<T>>;
  using result_type = group_norm_result<cpu<T>>;

  static void check(const shape& xs, std::int64_t groups) {
    require(groups > 0 && xs.c % groups == 0, "group_norm: input ", xs, " has ", xs.c,
            " channels, which do not divide into ", groups, " groups");
  }

  static void check_channel_tensor(const tensor_type* t, const shape& xs, const char* what) {
    if (t)
      require(t->size() == xs.c, "group_norm: ", what, " holds ", t->size(), " values, input ", xs, " has ", xs.c,
              " channels");
  }

  static result_type forward(context_type&, const tensor_type& x, std::int64_t groups, const tensor_type* weight,
                             const tensor_type* bias, double eps) {
    const shape xs = x.shape();
    check(xs, groups);
    require(std::isfinite(eps) && eps >= 0, "group_norm: eps must be finite and non-negative, got ", eps);
    check_channel_tensor(weight, xs, "weight");
    check_channel_tensor(bias, xs, "bias");
    const std::int64_t per_group = xs.c / groups, plane = xs.plane(), count = per_group * plane;
    result_type r{tensor_type::uninitialized(xs), tensor_type::uninitialized({xs.n, groups, 1, 1}),
                  tensor_type::uninitialized({xs.n, groups, 1, 1})};
    const T* in = x.data();
    T* out = r.y.data();
    T* mean_out = r.mean.data();
    T* invstd_out = r.invstd.data();
    const T* gamma = weight ? weight->data() : nullptr;
    const T* beta = bias ? bias->data() : nullptr;
    parallel_for(xs.n * groups, [&](std::int64_t task) {
      const std::int64_t g = task % groups;
      // The channels of one group of one sample are contiguous in NCHW: one block of `count` values.
      const std::int64_t offset = task * count;
      const double mean = count > 0 ? cpu_batch_norm::sum(in + offset, count) / static_cast<double>(count) : 0.0;
      const double var = count > 0 ? cpu_batch_norm::sum_squared_deviation(in + offset, count, mean) /
                                         static_cast<double>(count)
                                   : 0.0;
      const double invstd = 1.0 / std::sqrt(var + eps);
      mean_out[task] = static_cast<T>(mean);
      invstd_out[task] = static_cast<T>(invstd);
      const T m = static_cast<T>(mean);
      const double offset_of_m = cpu_batch_norm::exact_offset<T>(mean);
      for (std::int64_t k = 0; k < per_group; ++k) {
        const std::int64_t c = g * per_group + k;
        const double scale = (gamma ? static_cast<double>(gamma[c]) : 1.0) * invstd;
        const T a = static_cast<T>(scale);
        const T b = static_cast<T>((beta ? static_cast<double>(beta[c]) : 0.0) - offset_of_m * scale);
        const T* xi = in + offset + k * plane;
        T* yi = out + offset + k * plane;
        for (std::int64_t p = 0; p < plane; ++p) yi[p] = (xi[p] - m) * a + b;
      }
    }, std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(1, count)));
    return r;
  }

  static tensor_type backward(context_type&, const tensor_type& dy, const tensor_type& x, std::int64_t groups,
                              const tensor_type* weight, const tensor_type& mean, const tensor_type& invstd,
                              tensor_type* dweight, tensor_type* dbias) {
    const shape xs = x.shape();
    check(xs, groups);
    require(dy.shape() == xs, "group_norm backward: gradient ", dy.shape(), " does not match the input ", xs);
    const shape ss{xs.n, groups, 1, 1};
    require(mean.shape() == ss && invstd.shape() == ss, "group_norm backward: saved statistics ", mean.shape(),
            " and ", invstd.shape(), " do not match ", ss, " for input ", xs, " in ", groups, " groups");
    check_channel_tensor(weight, xs, "weight");
    check_channel_tensor(dweight, xs, "weight gradient");
    check_channel_tensor(dbias, xs, "bias gradient");
    const std::int64_t channels = xs.c, per_group = channels / groups, plane = xs.plane();
    const std::int64_t count = per_group * plane;
    tensor_type dx = tensor_type::uninitialized(xs);
    const T* g = dy.data();
    const T* in = x.data();
    T* out = dx.data();
    const T* gamma = weight ? weight->data() : nullptr;
    const T* saved_mean = mean.data();
    const T* saved_invstd = invstd.data();
    // Per (sample, channel) sums of dy and dy (x - mean): the dx pass needs them per group, the parameter
    // gradients per channel summed over samples, done afterwards so that no two tasks write one value
    // (deterministic whatever the thread count).
    std::vector<double> sum_dy(static_cast<std::size_t>(xs.n * channels));
    std::vector<double> sum_dy_x(static_cast<std::size_t>(xs.n * channels));
    parallel_for(xs.n * groups, [&](std::int64_t task) {
      const std::int64_t n = task / groups, grp = task % groups;
      const double saved = saved_mean[task], rs = saved_invstd[task];
      // Pass 1 over the group: per-channel sums, and the group's exact mean (the saved one is rounded to
      // T; see cpu_batch_norm::exact_offset).
      double sx = 0;
      for (std::int64_t k = 0; k < per_group; ++k) {
        const std::int64_t c = grp * per_group + k;
        const std::int64_t offset = (n * channels + c) * plane;
        const auto part = cpu_batch_norm::sum_gradient(g + offset, in + offset, plane, saved);
        sum_dy[static_cast<std::size_t>(n * channels + c)] = part.dy;
        sum_dy_x[static_cast<std::size_t>(n * channels + c)] = part.dy_x;
        sx += part.x;
      }
      const double inv_count = count > 0 ? 1.0 / static_cast<double>(count) : 0.0;
      const double mu = sx * inv_count;
      double s1 = 0, s2 = 0;  // sum gamma dy, and sum gamma dy (x - mu)
      for (std::int64_t k = 0; k < per_group; ++k) {
        const std::int64_t c = grp * per_group + k;
        const auto i = static_cast<std::size_t>(n * channels + c);
        sum_dy_x[i] -= (mu - saved) * sum_dy[i];
        const double gc = gamma ? static_cast<double>(gamma[c]) : 1.0;
        s1 += gc * sum_dy[i];
        s2 += gc * sum_dy_x[i];
      }
      // dx = invstd (gamma dy - mean(gamma dy) - xhat mean(gamma dy xhat)) with xhat = (x - mu) invstd,
      // written as k_dy dy + k_x (x - m) + k_0 with m = T(mu).
      const double kx = -rs * rs * rs * s2 * inv_count;
      const T k_x = static_cast<T>(kx);
      const T k_0 = static_cast<T>(-rs * s1 * inv_count - kx * cpu_batch_norm::exact_offset<T>(mu));
      const T m = static_cast<T>(mu);
      for (std::int64_t k = 0; k < per_group; ++k) {
        const std::int64_t c = grp * per_group + k;
        const std::int64_t offset = (n * channels + c) * plane;
        const T k_dy = static_cast<T>((gamma ? static_cast<double>(gamma[c]) : 1.0) * rs);
        const T* gi = g + offset;
        const T* xi = in + offset;
        T* oi = out + offset;
        for (std::int64_t p = 0; p < plane; ++p) oi[p] = k_dy * gi[p] + k_x * (xi[p] - m) + k_0;
      }
    }, std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(1, count)));
    if (dweight || dbias) {
      T* dw = dweight ? dweight->data() : nullptr;
      T* db = dbias ? dbias->data() : nullptr;
      parallel_for(channels, [&](std::int64_t c) {
        const std::int64_t grp = c / per_group;
        double dgamma = 0, dbeta = 0;
        for (std::int64_t n = 0; n < xs.n; ++n) {
          const auto i = static_cast<std::size_t>(n * channels + c);
          dgamma += sum_dy_x[i] * static_cast<double>(saved_invstd[n * groups + grp]);
          dbeta += sum_dy[i];
        }
        if (dw) dw[c] += static_cast<T>(dgamma);
        if (db) db[c] += static_cast<T>(dbeta);
      }, 4096);
    }
    return dx;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
