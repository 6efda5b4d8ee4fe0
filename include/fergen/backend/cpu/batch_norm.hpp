// fergen/backend/cpu/batch_norm.hpp: batch normalisation on the CPU, one task per channel.
#pragma once

#include <fergen/backend/batch_norm.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/backend/cpu/vector_clones.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/parallel.hpp>
#include <fergen/core/shape.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

FERGEN_BEGIN_NAMESPACE
namespace ops {
namespace cpu_batch_norm {

// Float data (the float backend's statistics, BatchNorm's and GroupNorm's) sums in sixteen double accumulators,
// compiled per instruction set (vector_clones.hpp): four vectors of four doubles with AVX2 or AVX-512, whose adds
// overlap. The order of the additions is the same on every processor; the squared deviations may fuse into FMAs
// where the processor has them. (The four scalar accumulators below left the GroupNorms' statistics a tenth of the
// diffusion UNet's denoising step.)
inline constexpr int wide_lanes = 16;

inline double sum_of_lanes(const double (&a)[wide_lanes]) {
  double half[wide_lanes / 2];
  for (int j = 0; j < wide_lanes / 2; ++j) half[j] = a[j] + a[j + wide_lanes / 2];
  return ((half[0] + half[1]) + (half[2] + half[3])) + ((half[4] + half[5]) + (half[6] + half[7]));
}

template <class T>
FERGEN_VECTOR_CLONES double wide_sum(const T* x, std::int64_t count) {
  double a[wide_lanes] = {};
  std::int64_t i = 0;
  for (; i + wide_lanes <= count; i += wide_lanes)
    for (int j = 0; j < wide_lanes; ++j) a[j] += static_cast<double>(x[i + j]);
  for (; i < count; ++i) a[0] += static_cast<double>(x[i]);
  return sum_of_lanes(a);
}

template <class T>
FERGEN_VECTOR_CLONES double wide_sum_squared_deviation(const T* x, std::int64_t count, double mean) {
  double a[wide_lanes] = {};
  std::int64_t i = 0;
  for (; i + wide_lanes <= count; i += wide_lanes) {
    for (int j = 0; j < wide_lanes; ++j) {
      const double d = static_cast<double>(x[i + j]) - mean;
      a[j] += d * d;
    }
  }
  for (; i < count; ++i) {
    const double d = static_cast<double>(x[i]) - mean;
    a[0] += d * d;
  }
  return sum_of_lanes(a);
}

// Sums run in double with independent accumulators: one accumulator would chain every add on the previous one's
// latency, and float accumulation would lose digits over a channel of a whole batch. Double data keeps four scalar
// accumulators: the double backend is the reference the gradient checks run on.
template <class T>
double sum(const T* x, std::int64_t count) {
  if constexpr (std::is_same_v<T, float>) {
    return wide_sum(x, count);
  } else {
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    std::int64_t i = 0;
    for (; i + 4 <= count; i += 4) {
      a0 += x[i];
      a1 += x[i + 1];
      a2 += x[i + 2];
      a3 += x[i + 3];
    }
    for (; i < count; ++i) a0 += x[i];
    return (a0 + a1) + (a2 + a3);
  }
}

// sum (x - mean)^2: two passes (mean first) instead of sum x^2 - n mean^2, which cancels catastrophically
// when the mean is large against the spread.
template <class T>
double sum_squared_deviation(const T* x, std::int64_t count, double mean) {
  if constexpr (std::is_same_v<T, float>) {
    return wide_sum_squared_deviation(x, count, mean);
  } else {
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    std::int64_t i = 0;
    for (; i + 4 <= count; i += 4) {
      const double d0 = x[i] - mean, d1 = x[i + 1] - mean, d2 = x[i + 2] - mean, d3 = x[i + 3] - mean;
      a0 += d0 * d0;
      a1 += d1 * d1;
      a2 += d2 * d2;
      a3 += d3 * d3;
    }
    for (; i < count; ++i) {
      const double d = x[i] - mean;
      a0 += d * d;
    }
    return (a0 + a1) + (a2 + a3);
  }
}

// sum dy, sum dy * (x - mean) and sum x in one pass: the two reductions every normalisation backward
// needs, and the exact mean (the saved one is rounded to T; see exact_offset).
struct gradient_sums {
  double dy = 0;
  double dy_x = 0;
  double x = 0;
  gradient_sums& operator+=(const gradient_sums& o) {
    dy += o.dy;
    dy_x += o.dy_x;
    x += o.x;
    return *this;
  }
};
template <class T>
gradient_sums sum_gradient(const T* dy, const T* x, std::int64_t count, double mean) {
  double s0 = 0, s1 = 0, p0 = 0, p1 = 0, x0 = 0, x1 = 0;
  std::int64_t i = 0;
  for (; i + 2 <= count; i += 2) {
    s0 += dy[i];
    s1 += dy[i + 1];
    p0 += static_cast<double>(dy[i]) * (x[i] - mean);
    p1 += static_cast<double>(dy[i + 1]) * (x[i + 1] - mean);
    x0 += x[i];
    x1 += x[i + 1];
  }
  for (; i < count; ++i) {
    s0 += dy[i];
    p0 += static_cast<double>(dy[i]) * (x[i] - mean);
    x0 += x[i];
  }
  return {s0 + s1, p0 + p1, x0 + x1};
}

// Element loops compute x - m in T with m = T(mean): that difference is accurate (rounded once), but m is
// off the mean by up to half an ulp, which for a mean large against the spread (inputs around 30 with
// spread 0.1) is 1e-5 of the normalised output. The offset mean - m, known in double, goes into the
// per-channel constant instead, so T's rounding of the mean never reaches the result.
template <class T>
double exact_offset(double mean) {
  return mean - static_cast<double>(static_cast<T>(mean));
}

// The float constants of a channel's normalisation y = (x - m) * a + b, from the mean and 1/sqrt(var + eps) in
// double: a = gamma invstd, m the mean rounded to T, and b = beta less what that rounding moved (exact_offset).
template <class T>
struct channel_constants {
  T m, a, b;
  channel_constants(double mean, double invstd, const T* gamma, const T* beta, std::int64_t c) {
    const double scale = (gamma ? static_cast<double>(gamma[c]) : 1.0) * invstd;
    m = static_cast<T>(mean);
    a = static_cast<T>(scale);
    b = static_cast<T>((beta ? static_cast<double>(beta[c]) : 0.0) - exact_offset<T>(mean) * scale);
  }
};

// Channels of less than this many values are grouped onto one thread: waking workers costs more.
inline std::int64_t channels_per_thread(std::int64_t values_per_channel) {
  return std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(1, values_per_channel));
}

}  // namespace cpu_batch_norm

template <real T>
struct batch_norm<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;
  using context_type = context<cpu<T>>;
  using result_type = batch_norm_result<cpu<T>>;

  static void check_channel_tensor(const tensor_type* t, const shape& xs, const char* what) {
    if (t)
      require(t->size() == xs.c, "batch_norm: ", what, " holds ", t->size(), " values, input ", xs, " has ", xs.c,
              " channels");
  }

  static void check_eps(double eps) {
    require(std::isfinite(eps) && eps >= 0, "batch_norm: eps must be finite and non-negative, got ", eps);
  }

  // What a normalisation with running statistics checks (forward_inference, and the fused convolution's epilogue,
  // backend/cpu/conv2d_fused.hpp): eps, and C values in each per-channel tensor for an input of C channels.
  static void check_running(const shape& xs, const tensor_type* weight, const tensor_type* bias,
                            const tensor_type& running_mean, const tensor_type& running_var, double eps) {
    check_eps(eps);
    check_channel_tensor(weight, xs, "weight");
    check_channel_tensor(bias, xs, "bias");
    check_channel_tensor(&running_mean, xs, "running_mean");
    check_channel_tensor(&running_var, xs, "running_var");
  }

  // 1 / sqrt(var + eps) of a running variance, in double.
  static double running_invstd(T var, double eps) { return 1.0 / std::sqrt(static_cast<double>(var) + eps); }

  static result_type forward_training(context_type&, const tensor_type& x, const tensor_type* weight,
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
    const T* in = x.data();
    T* out = r.y.data();
    T* mean_out = r.mean.data();
    T* invstd_out = r.invstd.data();
    const T* gamma = weight ? weight->data() : nullptr;
    const T* beta = bias ? bias->data() : nullptr;
    T* rm = running_mean ? running_mean->data() : nullptr;
    T* rv = running_var ? running_var->data() : nullptr;
    const double n = static_cast<double>(count);
    parallel_for(channels, [&](std::int64_t c) {
      double s = 0;
      for (std::int64_t i = 0; i < xs.n; ++i) s += cpu_batch_norm::sum(in + (i * channels + c) * plane, plane);
      const double mean = s / n;
      double ss = 0;
      for (std::int64_t i = 0; i < xs.n; ++i)
        ss += cpu_batch_norm::sum_squared_deviation(in + (i * channels + c) * plane, plane, mean);
      const double var = ss / n;
      const double invstd = 1.0 / std::sqrt(var + eps);
      mean_out[c] = static_cast<T>(mean);
      invstd_out[c] = static_cast<T>(invstd);
      normalize_channel(in, out, xs, c, mean, invstd, gamma, beta);
      if (rm) {
        // The running variance estimates the population's, hence the unbiased n / (n - 1), as PyTorch.
        rm[c] = static_cast<T>((1 - factor) * rm[c] + factor * mean);
        rv[c] = static_cast<T>((1 - factor) * rv[c] + factor * var * n / (n - 1));
      }
    }, cpu_batch_norm::channels_per_thread(count));
    return r;
  }

  static result_type forward_inference(context_type&, const tensor_type& x, const tensor_type* weight,
                                       const tensor_type* bias, const tensor_type& running_mean,
                                       const tensor_type& running_var, double eps) {
    const shape xs = x.shape();
    const std::int64_t channels = xs.c;
    check_running(xs, weight, bias, running_mean, running_var, eps);
    result_type r{tensor_type::uninitialized(xs), tensor_type::uninitialized({channels, 1, 1, 1}),
                  tensor_type::uninitialized({channels, 1, 1, 1})};
    const T* in = x.data();
    T* out = r.y.data();
    const T* gamma = weight ? weight->data() : nullptr;
    const T* beta = bias ? bias->data() : nullptr;
    const T* rm = running_mean.data();
    const T* rv = running_var.data();
    T* mean_out = r.mean.data();
    T* invstd_out = r.invstd.data();
    parallel_for(channels, [&](std::int64_t c) {
      const double mean = rm[c];
      const double invstd = running_invstd(rv[c], eps);
      mean_out[c] = rm[c];
      invstd_out[c] = static_cast<T>(invstd);
      normalize_channel(in, out, xs, c, mean, invstd, gamma, beta);
    }, cpu_batch_norm::channels_per_thread(xs.n * xs.plane()));
    return r;
  }

  static tensor_type backward(context_type&, const tensor_type& dy, const tensor_type& x, const tensor_type* weight,
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
    const T* g = dy.data();
    const T* in = x.data();
    T* out = dx.data();
    const T* gamma = weight ? weight->data() : nullptr;
    T* dw = dweight ? dweight->data() : nullptr;
    T* db = dbias ? dbias->data() : nullptr;
    const T* saved_mean = mean.data();
    const T* saved_invstd = invstd.data();
    const double n = static_cast<double>(count);
    parallel_for(channels, [&](std::int64_t c) {
      const double saved = saved_mean[c], rs = saved_invstd[c];
      const double scale = (gamma ? static_cast<double>(gamma[c]) : 1.0) * rs;
      cpu_batch_norm::gradient_sums sums;
      if (need_sums) {
        for (std::int64_t i = 0; i < xs.n; ++i) {
          const std::int64_t offset = (i * channels + c) * plane;
          sums += cpu_batch_norm::sum_gradient(g + offset, in + offset, plane, saved);
        }
      }
      // The batch mean the forward used, to double precision (the saved one is rounded to T); running
      // statistics are exact in T already.
      const double mu = through_statistics ? sums.x / n : saved;
      const double dy_x = sums.dy_x - (mu - saved) * sums.dy;  // sum dy (x - mu)
      const double dgamma = dy_x * rs;                          // sum dy xhat
      if (dw) dw[c] += static_cast<T>(dgamma);
      if (db) db[c] += static_cast<T>(sums.dy);
      // Through the statistics: dx = gamma invstd (dy - mean(dy) - xhat mean(dy xhat)), written as
      // k_dy dy + k_x (x - m) + k_0 with m = T(mu) so the inner loop is two multiply-adds in T.
      const double kx = through_statistics ? -scale * rs * dgamma / n : 0.0;
      const T k_dy = static_cast<T>(scale);
      const T k_x = static_cast<T>(kx);
      const T k_0 =
          through_statistics ? static_cast<T>(-scale * sums.dy / n - kx * cpu_batch_norm::exact_offset<T>(mu)) : T(0);
      const T m = static_cast<T>(mu);
      for (std::int64_t i = 0; i < xs.n; ++i) {
        const std::int64_t offset = (i * channels + c) * plane;
        const T* gi = g + offset;
        const T* xi = in + offset;
        T* oi = out + offset;
        if (through_statistics) {
          for (std::int64_t p = 0; p < plane; ++p) oi[p] = k_dy * gi[p] + k_x * (xi[p] - m) + k_0;
        } else {
          for (std::int64_t p = 0; p < plane; ++p) oi[p] = k_dy * gi[p];
        }
      }
    }, cpu_batch_norm::channels_per_thread(count));
    return dx;
  }

 private:
  // y = (x - mean) * (gamma invstd) + beta over channel c of every sample; the per-channel factors are
  // computed in double, the per-element work in T.
  static void normalize_channel(const T* in, T* out, const shape& xs, std::int64_t c, double mean, double invstd,
                                const T* gamma, const T* beta) {
    const auto [m, a, b] = cpu_batch_norm::channel_constants<T>(mean, invstd, gamma, beta, c);
    const std::int64_t plane = xs.plane();
    for (std::int64_t i = 0; i < xs.n; ++i) {
      const std::int64_t offset = (i * xs.c + c) * plane;
      const T* xi = in + offset;
      T* yi = out + offset;
      for (std::int64_t p = 0; p < plane; ++p) yi[p] = (xi[p] - m) * a + b;
    }
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
