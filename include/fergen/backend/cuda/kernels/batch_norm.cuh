// fergen/backend/cuda/kernels/batch_norm.cuh: batch normalisation's per-channel statistics (segment_sums in
// double, two passes as on the CPU), its per-channel constants and the elementwise passes.
#pragma once

#include <fergen/backend/cuda/kernels/launch.cuh>
#include <fergen/backend/cuda/kernels/reduce.cuh>
#include <fergen/core/shape.hpp>

#include <cmath>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_kernels {

// mean - T(mean), known in double: folded into the per-channel constant so that the rounding of the mean to
// float never reaches the result (cpu_batch_norm::exact_offset).
FERGEN_HD inline double float_offset(double mean) { return mean - static_cast<double>(static_cast<float>(mean)); }

// Per channel, y = (x - m) * a + b.
struct affine_constants {
  float m, a, b;
};

// (x - center[segment])^2 in double, center being a per-segment mean in double.
template <class Index>
struct load_squared_deviation {
  const float* x;
  Index index;
  const double* center;
  FERGEN_HD sums<1> operator()(std::int64_t s, std::int64_t e) const {
    const double d = static_cast<double>(x[index(s, e)]) - center[s];
    return {{d * d}};
  }
};

// mean[s] = total / count (0 for an empty segment).
struct store_mean {
  double* mean;
  double count;
  FERGEN_HD void operator()(std::int64_t s, const sums<1>& total) const {
    mean[s] = count > 0 ? total.v[0] / count : 0.0;
  }
};

// The training forward's per-channel work once the squared deviations are summed: invstd, the saved
// statistics, the running averages (unbiased variance, as PyTorch) and the constants of the normalisation.
struct batch_norm_train_finish {
  const double* mean;
  const float* gamma;  // null: 1
  const float* beta;   // null: 0
  float* mean_out;
  float* invstd_out;
  float* running_mean;  // null: not updated
  float* running_var;
  affine_constants* constants;
  double count, eps, factor;
  FERGEN_HD void operator()(std::int64_t c, const sums<1>& squares) const {
    const double mu = mean[c];
    const double var = squares.v[0] / count;
    const double invstd = 1.0 / sqrt(var + eps);
    mean_out[c] = static_cast<float>(mu);
    invstd_out[c] = static_cast<float>(invstd);
    const double scale = (gamma ? static_cast<double>(gamma[c]) : 1.0) * invstd;
    constants[c] = {static_cast<float>(mu), static_cast<float>(scale),
                    static_cast<float>((beta ? static_cast<double>(beta[c]) : 0.0) - float_offset(mu) * scale)};
    if (running_mean) {
      running_mean[c] = static_cast<float>((1 - factor) * running_mean[c] + factor * mu);
      running_var[c] = static_cast<float>((1 - factor) * running_var[c] + factor * var * count / (count - 1));
    }
  }
};

// Evaluation: the running statistics are the statistics.
struct batch_norm_inference_constants {
  const float* running_mean;
  const float* running_var;
  const float* gamma;
  const float* beta;
  float* mean_out;
  float* invstd_out;
  affine_constants* constants;
  double eps;
  FERGEN_HD void operator()(std::int64_t c) const {
    const double mu = running_mean[c];
    const double invstd = 1.0 / sqrt(static_cast<double>(running_var[c]) + eps);
    mean_out[c] = running_mean[c];
    invstd_out[c] = static_cast<float>(invstd);
    const double scale = (gamma ? static_cast<double>(gamma[c]) : 1.0) * invstd;
    constants[c] = {static_cast<float>(mu), static_cast<float>(scale),
                    static_cast<float>((beta ? static_cast<double>(beta[c]) : 0.0) - float_offset(mu) * scale)};
  }
};

// y[n, c, p] = (x - m_c) * a_c + b_c with constants indexed by channel (or, for group norm, by (n, c) with
// channels = N * C and a plane of H * W).
struct normalize {
  const float* x;
  float* y;
  const affine_constants* constants;
  std::int64_t channels, plane;
  FERGEN_HD void operator()(std::int64_t i) const {
    const affine_constants k = constants[(i / plane) % channels];
    y[i] = (x[i] - k.m) * k.a + k.b;
  }
};

// Backward sums per channel in one pass: dy, dy (x - saved mean), x (the exact batch mean comes from the
// last, see cpu_batch_norm::gradient_sums).
struct load_gradient_sums {
  const float* dy;
  const float* x;
  const float* saved_mean;  // per channel
  channel_index index;
  FERGEN_HD sums<3> operator()(std::int64_t c, std::int64_t e) const {
    const std::int64_t i = index(c, e);
    const double g = dy[i], v = x[i];
    return {{g, g * (v - static_cast<double>(saved_mean[c])), v}};
  }
};

// dx = k_dy dy + k_x (x - m) + k_0 per channel.
struct gradient_constants {
  float k_dy, k_x, k_0, m;
};

// cpu batch_norm backward's per-channel arithmetic: parameter gradients (accumulated) and dx's constants.
struct batch_norm_backward_finish {
  const float* gamma;
  const float* saved_mean;
  const float* saved_invstd;
  float* dweight;  // null: not wanted
  float* dbias;
  gradient_constants* constants;
  double count;
  bool through_statistics;
  FERGEN_HD void operator()(std::int64_t c, const sums<3>& s) const {
    const double saved = saved_mean[c], rs = saved_invstd[c];
    const double scale = (gamma ? static_cast<double>(gamma[c]) : 1.0) * rs;
    const double mu = through_statistics ? s.v[2] / count : saved;
    const double dy_x = s.v[1] - (mu - saved) * s.v[0];
    const double dgamma = dy_x * rs;
    if (dweight) dweight[c] += static_cast<float>(dgamma);
    if (dbias) dbias[c] += static_cast<float>(s.v[0]);
    const double kx = through_statistics ? -scale * rs * dgamma / count : 0.0;
    constants[c] = {static_cast<float>(scale), static_cast<float>(kx),
                    through_statistics ? static_cast<float>(-scale * s.v[0] / count - kx * float_offset(mu)) : 0.0f,
                    static_cast<float>(mu)};
  }
};

// The same finish without sums (running statistics and no parameter gradient: dx = gamma invstd dy).
struct batch_norm_backward_finish_without_sums {
  batch_norm_backward_finish finish;
  FERGEN_HD void operator()(std::int64_t c) const { finish(c, sums<3>{}); }
};

struct batch_norm_backward_data {
  const float* dy;
  const float* x;
  float* dx;
  const gradient_constants* constants;
  std::int64_t channels, plane;
  bool through_statistics;
  FERGEN_HD void operator()(std::int64_t i) const {
    const gradient_constants k = constants[(i / plane) % channels];
    dx[i] = through_statistics ? k.k_dy * dy[i] + k.k_x * (x[i] - k.m) + k.k_0 : k.k_dy * dy[i];
  }
};


// The passes of batch_norm<cuda<float>>, over an engine (kernels/engine.cuh). Pointers may be null where the op
// allows it (gamma, beta, the running statistics, the parameter gradients).

// Two passes, mean first, as the CPU: sum (x - mean)^2 does not cancel as sum x^2 - n mean^2 does.
template <class Engine>
void batch_norm_training(Engine& e, const float* x, const shape& xs, const float* gamma, const float* beta,
                         double eps, float* running_mean, float* running_var, double factor, float* y,
                         float* mean_out, float* invstd_out) {
  const std::int64_t channels = xs.c, plane = xs.plane(), count = xs.n * plane;
  const auto mean = e.allocate(static_cast<std::size_t>(channels) * sizeof(double), "batch_norm means");
  const auto constants = e.allocate(static_cast<std::size_t>(channels) * sizeof(affine_constants),
                                    "batch_norm constants");
  auto* mu = static_cast<double*>(mean.get());
  auto* k = static_cast<affine_constants*>(constants.get());
  const channel_index index{channels, plane};
  const auto n = static_cast<double>(count);
  e.template segment_sums<1>(channels, count, load_value<channel_index>{x, index}, store_mean{mu, n},
                             "batch_norm mean");
  e.template segment_sums<1>(channels, count, load_squared_deviation<channel_index>{x, index, mu},
                             batch_norm_train_finish{mu, gamma, beta, mean_out, invstd_out, running_mean, running_var,
                                                     k, n, eps, factor},
                             "batch_norm variance");
  e.for_each(xs.size(), normalize{x, y, k, channels, plane}, "batch_norm");
}

template <class Engine>
void batch_norm_inference(Engine& e, const float* x, const shape& xs, const float* gamma, const float* beta,
                          const float* running_mean, const float* running_var, double eps, float* y, float* mean_out,
                          float* invstd_out) {
  const auto constants = e.allocate(static_cast<std::size_t>(xs.c) * sizeof(affine_constants), "batch_norm constants");
  auto* k = static_cast<affine_constants*>(constants.get());
  e.for_each(xs.c,
             batch_norm_inference_constants{running_mean, running_var, gamma, beta, mean_out, invstd_out, k, eps},
             "batch_norm inference");
  e.for_each(xs.size(), normalize{x, y, k, xs.c, xs.plane()}, "batch_norm");
}

template <class Engine>
void batch_norm_backward(Engine& e, const float* dy, const float* x, const shape& xs, const float* gamma,
                         const float* saved_mean, const float* saved_invstd, bool through_statistics, float* dweight,
                         float* dbias, float* dx) {
  const std::int64_t channels = xs.c, plane = xs.plane(), count = xs.n * plane;
  const auto constants = e.allocate(static_cast<std::size_t>(channels) * sizeof(gradient_constants),
                                    "batch_norm constants");
  auto* k = static_cast<gradient_constants*>(constants.get());
  const batch_norm_backward_finish finish{gamma,  saved_mean, saved_invstd,      dweight,
                                          dbias,  k,          static_cast<double>(count), through_statistics};
  if (through_statistics || dweight || dbias) {
    e.template segment_sums<3>(channels, count, load_gradient_sums{dy, x, saved_mean, {channels, plane}}, finish,
                               "batch_norm backward");
  } else {  // running statistics and no parameter gradient: dx = gamma invstd dy needs no sums
    e.for_each(channels, batch_norm_backward_finish_without_sums{finish}, "batch_norm backward");
  }
  e.for_each(xs.size(), batch_norm_backward_data{dy, x, dx, k, channels, plane, through_statistics},
             "batch_norm backward");
}

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
