// fergen/backend/cuda/kernels/group_norm.cuh: group normalisation's per-(sample, group) statistics and
// per-(sample, channel) constants; the reductions and elementwise passes are those of batch_norm.cuh.
#pragma once

#include <fergen/backend/cuda/kernels/batch_norm.cuh>
#include <fergen/backend/cuda/kernels/launch.cuh>
#include <fergen/backend/cuda/kernels/reduce.cuh>
#include <fergen/core/shape.hpp>

#include <cmath>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_kernels {

// What the elementwise passes need of each (sample, group).
struct group_statistics {
  double invstd;
  double offset;  // mean - float(mean)
  float m;        // float(mean)
};

struct group_norm_forward_finish {
  const double* mean;
  float* mean_out;
  float* invstd_out;
  group_statistics* stats;
  double count, eps;
  FERGEN_HD void operator()(std::int64_t s, const sums<1>& squares) const {
    const double mu = mean[s];
    const double var = count > 0 ? squares.v[0] / count : 0.0;
    const double invstd = 1.0 / sqrt(var + eps);
    mean_out[s] = static_cast<float>(mu);
    invstd_out[s] = static_cast<float>(invstd);
    stats[s] = {invstd, float_offset(mu), static_cast<float>(mu)};
  }
};

// Index nc = n * C + c: a = float(gamma_c invstd), b = float(beta_c - offset * gamma_c invstd), m of the group.
struct group_norm_constants {
  const group_statistics* stats;
  const float* gamma;
  const float* beta;
  affine_constants* constants;
  std::int64_t channels, groups;
  FERGEN_HD void operator()(std::int64_t nc) const {
    const std::int64_t c = nc % channels;
    const group_statistics g = stats[(nc / channels) * groups + c / (channels / groups)];
    const double scale = (gamma ? static_cast<double>(gamma[c]) : 1.0) * g.invstd;
    constants[nc] = {g.m, static_cast<float>(scale),
                     static_cast<float>((beta ? static_cast<double>(beta[c]) : 0.0) - g.offset * scale)};
  }
};

// Backward sums per (sample, channel) plane: dy, dy (x - saved group mean), x.
struct load_plane_gradient_sums {
  const float* dy;
  const float* x;
  const float* saved_mean;  // per (sample, group)
  std::int64_t plane, channels, groups;
  FERGEN_HD sums<3> operator()(std::int64_t nc, std::int64_t e) const {
    const std::int64_t i = nc * plane + e;
    const double saved = saved_mean[(nc / channels) * groups + (nc % channels) / (channels / groups)];
    const double g = dy[i], v = x[i];
    return {{g, g * (v - saved), v}};
  }
};
struct store_sums3 {
  sums<3>* out;
  FERGEN_HD void operator()(std::int64_t s, const sums<3>& total) const { out[s] = total; }
};

// dx = k_dy[n, c] dy + k_x[n, g] (x - m[n, g]) + k_0[n, g].
struct group_gradient_constants {
  float k_x, k_0, m;
};

// One thread per (sample, group), the CPU kernel's arithmetic in its order: the group's exact mean from the
// channel sums of x, sum dy (x - mu) corrected for the saved mean (written back for the parameter
// gradients), then the constants of dx.
struct group_norm_backward_group {
  sums<3>* channel_sums;  // per (n, c): dy, dy (x - saved), x; .v[1] becomes dy (x - mu)
  const float* gamma;
  const float* saved_mean;
  const float* saved_invstd;
  float* k_dy;  // per (n, c)
  group_gradient_constants* constants;
  std::int64_t channels, groups;
  double count;
  FERGEN_HD void operator()(std::int64_t task) const {
    const std::int64_t n = task / groups, grp = task % groups, per_group = channels / groups;
    const double saved = saved_mean[task], rs = saved_invstd[task];
    double sx = 0;
    for (std::int64_t k = 0; k < per_group; ++k) sx += channel_sums[n * channels + grp * per_group + k].v[2];
    const double inv_count = count > 0 ? 1.0 / count : 0.0;
    const double mu = sx * inv_count;
    double s1 = 0, s2 = 0;
    for (std::int64_t k = 0; k < per_group; ++k) {
      const std::int64_t c = grp * per_group + k;
      sums<3>& s = channel_sums[n * channels + c];
      s.v[1] -= (mu - saved) * s.v[0];
      const double gc = gamma ? static_cast<double>(gamma[c]) : 1.0;
      s1 += gc * s.v[0];
      s2 += gc * s.v[1];
      k_dy[n * channels + c] = static_cast<float>(gc * rs);
    }
    const double kx = -rs * rs * rs * s2 * inv_count;
    constants[task] = {static_cast<float>(kx), static_cast<float>(-rs * s1 * inv_count - kx * float_offset(mu)),
                       static_cast<float>(mu)};
  }
};

struct group_norm_backward_data {
  const float* dy;
  const float* x;
  float* dx;
  const float* k_dy;
  const group_gradient_constants* constants;
  std::int64_t plane, channels, groups;
  FERGEN_HD void operator()(std::int64_t i) const {
    const std::int64_t nc = i / plane;
    const group_gradient_constants k = constants[(nc / channels) * groups + (nc % channels) / (channels / groups)];
    dx[i] = k_dy[nc] * dy[i] + k.k_x * (x[i] - k.m) + k.k_0;
  }
};

// One thread per channel: the parameter gradients summed over samples in sample order.
struct group_norm_parameter_gradients {
  const sums<3>* channel_sums;
  const float* saved_invstd;
  float* dweight;  // null: not wanted
  float* dbias;
  std::int64_t samples, channels, groups;
  FERGEN_HD void operator()(std::int64_t c) const {
    const std::int64_t grp = c / (channels / groups);
    double dgamma = 0, dbeta = 0;
    for (std::int64_t n = 0; n < samples; ++n) {
      const sums<3>& s = channel_sums[n * channels + c];
      dgamma += s.v[1] * static_cast<double>(saved_invstd[n * groups + grp]);
      dbeta += s.v[0];
    }
    if (dweight) dweight[c] += static_cast<float>(dgamma);
    if (dbias) dbias[c] += static_cast<float>(dbeta);
  }
};


// The passes of group_norm<cuda<float>>, over an engine (kernels/engine.cuh).

template <class Engine>
void group_norm_forward(Engine& e, const float* x, const shape& xs, std::int64_t groups, const float* gamma,
                        const float* beta, double eps, float* y, float* mean_out, float* invstd_out) {
  const std::int64_t plane = xs.plane(), count = xs.c / groups * plane, segments = xs.n * groups;
  const auto mean = e.allocate(static_cast<std::size_t>(segments) * sizeof(double), "group_norm means");
  const auto stats = e.allocate(static_cast<std::size_t>(segments) * sizeof(group_statistics), "group_norm statistics");
  const auto constants =
      e.allocate(static_cast<std::size_t>(xs.n * xs.c) * sizeof(affine_constants), "group_norm constants");
  auto* mu = static_cast<double*>(mean.get());
  auto* st = static_cast<group_statistics*>(stats.get());
  auto* k = static_cast<affine_constants*>(constants.get());
  // The channels of one group of one sample are contiguous in NCHW: one segment of `count` values.
  const contiguous_index index{count};
  const auto n = static_cast<double>(count);
  e.template segment_sums<1>(segments, count, load_value<contiguous_index>{x, index}, store_mean{mu, n},
                             "group_norm mean");
  e.template segment_sums<1>(segments, count, load_squared_deviation<contiguous_index>{x, index, mu},
                             group_norm_forward_finish{mu, mean_out, invstd_out, st, n, eps}, "group_norm variance");
  e.for_each(xs.n * xs.c, group_norm_constants{st, gamma, beta, k, xs.c, groups}, "group_norm constants");
  e.for_each(xs.size(), normalize{x, y, k, xs.n * xs.c, plane}, "group_norm");
}

template <class Engine>
void group_norm_backward(Engine& e, const float* dy, const float* x, const shape& xs, std::int64_t groups,
                         const float* gamma, const float* saved_mean, const float* saved_invstd, float* dweight,
                         float* dbias, float* dx) {
  const std::int64_t channels = xs.c, plane = xs.plane(), count = channels / groups * plane;
  const auto channel_sums =
      e.allocate(static_cast<std::size_t>(xs.n * channels) * sizeof(sums<3>), "group_norm channel sums");
  const auto k_dy = e.allocate(static_cast<std::size_t>(xs.n * channels) * sizeof(float), "group_norm constants");
  const auto constants = e.allocate(static_cast<std::size_t>(xs.n * groups) * sizeof(group_gradient_constants),
                                    "group_norm constants");
  auto* sum = static_cast<sums<3>*>(channel_sums.get());
  auto* kdy = static_cast<float*>(k_dy.get());
  auto* k = static_cast<group_gradient_constants*>(constants.get());
  e.template segment_sums<3>(xs.n * channels, plane,
                             load_plane_gradient_sums{dy, x, saved_mean, plane, channels, groups}, store_sums3{sum},
                             "group_norm backward");
  e.for_each(xs.n * groups,
             group_norm_backward_group{sum, gamma, saved_mean, saved_invstd, kdy, k, channels, groups,
                                       static_cast<double>(count)},
             "group_norm backward");
  e.for_each(xs.size(), group_norm_backward_data{dy, x, dx, kdy, k, plane, channels, groups}, "group_norm backward");
  if (dweight || dbias)
    e.for_each(channels, group_norm_parameter_gradients{sum, saved_invstd, dweight, dbias, xs.n, channels, groups},
               "group_norm backward");
}

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
