// fergen/backend/cuda/kernels/group_norm.cuh: group normalisation's per-(sample, group) statistics and
// per-(sample, channel) constants; the reductions and elementwise passes are those of batch_norm.cuh.
#pragma once

#include <fergen/backend/cuda/kernels/batch_norm.cuh>
#include <fergen/backend/cuda/kernels/launch.cuh>
#include <fergen/backend/cuda/kernels/reduce.cuh>

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
  __device__ void operator()(std::int64_t s, const sums<1>& squares) const {
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
  __device__ void operator()(std::int64_t nc) const {
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
  __device__ sums<3> operator()(std::int64_t nc, std::int64_t e) const {
    const std::int64_t i = nc * plane + e;
    const double saved = saved_mean[(nc / channels) * groups + (nc % channels) / (channels / groups)];
    const double g = dy[i], v = x[i];
    return {{g, g * (v - saved), v}};
  }
};
struct store_sums3 {
  sums<3>* out;
  __device__ void operator()(std::int64_t s, const sums<3>& total) const { out[s] = total; }
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
  __device__ void operator()(std::int64_t task) const {
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
  __device__ void operator()(std::int64_t i) const {
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
  __device__ void operator()(std::int64_t c) const {
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

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
