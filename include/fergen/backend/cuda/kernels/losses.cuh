// fergen/backend/cuda/kernels/losses.cuh: softmax cross-entropy (one warp per sample) and the MSE loader.
#pragma once

#include <fergen/backend/cuda/kernels/launch.cuh>
#include <fergen/backend/cuda/kernels/reduce.cuh>

#include <cmath>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_kernels {

constexpr int warp_size = 32;
constexpr unsigned full_warp = 0xffffffffu;

// Butterfly reductions over a warp: every lane ends with the same value, combined in a fixed order.
__device__ inline double warp_max(double v) {
  for (int offset = warp_size / 2; offset > 0; offset /= 2) v = fmax(v, __shfl_xor_sync(full_warp, v, offset));
  return v;
}
__device__ inline double warp_sum(double v) {
  for (int offset = warp_size / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(full_warp, v, offset);
  return v;
}

// Warp w handles sample w: log-sum-exp about the maximum in double, then loss = -sum q log p and
// grad = (p - q) / N, as the CPU kernel. The per-sample losses go to `losses` for the host to add in order.
// (A template, as every kernel in a header: a plain __global__ function would be defined once per
// translation unit and collide at link time.)
template <class T>
__global__ void softmax_cross_entropy_kernel(const T* logits, const std::int64_t* labels, std::int64_t n,
                                             std::int64_t classes, double on_target, double off_target, T* grad,
                                             double* losses) {
  const std::int64_t warps = global_stride() / warp_size;
  const int lane = static_cast<int>(threadIdx.x) % warp_size;
  for (std::int64_t sample = global_index() / warp_size; sample < n; sample += warps) {
    const T* z = logits + sample * classes;
    T* g = grad + sample * classes;
    double top = -INFINITY;
    for (std::int64_t k = lane; k < classes; k += warp_size) top = fmax(top, static_cast<double>(z[k]));
    top = warp_max(top);
    double sum = 0;
    for (std::int64_t k = lane; k < classes; k += warp_size) sum += exp(static_cast<double>(z[k]) - top);
    const double log_sum = top + log(warp_sum(sum));
    const std::int64_t label = labels[sample];
    double loss = 0;
    for (std::int64_t k = lane; k < classes; k += warp_size) {
      const double log_p = static_cast<double>(z[k]) - log_sum;
      const double q = k == label ? on_target : off_target;
      loss -= q * log_p;
      g[k] = static_cast<T>((exp(log_p) - q) / static_cast<double>(n));
    }
    loss = warp_sum(loss);
    if (lane == 0) losses[sample] = loss;
  }
}

// MSE per sample: loads (p - t)^2 in double and writes the gradient 2 w d / count as it goes (segment_sums
// loads each element once); the finish stores w * sum for the host.
struct load_mse {
  const float* prediction;
  const float* target;
  float* grad;
  const double* weights;  // null: every sample weighs 1
  std::int64_t per_sample;
  double count;
  __device__ sums<1> operator()(std::int64_t sample, std::int64_t e) const {
    const std::int64_t i = sample * per_sample + e;
    const double w = weights ? weights[sample] : 1.0;
    const double d = static_cast<double>(prediction[i]) - static_cast<double>(target[i]);
    grad[i] = static_cast<float>(2.0 * w * d / count);
    return {{d * d}};
  }
};
struct store_weighted {
  const double* weights;
  double* out;
  __device__ void operator()(std::int64_t sample, const sums<1>& total) const {
    out[sample] = (weights ? weights[sample] : 1.0) * total.v[0];
  }
};

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
