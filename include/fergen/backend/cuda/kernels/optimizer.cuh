// fergen/backend/cuda/kernels/optimizer.cuh: the optimisers' updates, one fused kernel per parameter tensor,
// with the CPU kernel's (and torch.optim's) order of operations.
#pragma once

#include <fergen/backend/cuda/kernels/launch.cuh>

#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_kernels {

struct sgd_update {
  float* value;
  const float* grad;
  float* buffer;  // null: no momentum
  float lr, weight_decay, momentum, keep;
  bool decay, nesterov, first_step;
  __device__ void operator()(std::int64_t i) const {
    float d = decay ? grad[i] + weight_decay * value[i] : grad[i];
    if (buffer) {
      // torch starts the buffer at the first (decayed) gradient, without dampening.
      const float b = first_step ? d : buffer[i] * momentum + keep * d;
      buffer[i] = b;
      d = nesterov ? d + momentum * b : b;
    }
    value[i] = value[i] + (-lr) * d;
  }
};

struct adam_update {
  float* value;
  const float* grad;
  float* exp_avg;
  float* exp_avg_sq;
  float beta1, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay, shrink, step_size, bias_correction2_sqrt;
  bool coupled, decoupled;
  __device__ void operator()(std::int64_t i) const {
    float p = value[i];
    if (decoupled) p = p * shrink;
    const float g = coupled ? grad[i] + weight_decay * p : grad[i];
    const float m = exp_avg[i] * beta1 + one_minus_beta1 * g;
    const float v = exp_avg_sq[i] * beta2 + one_minus_beta2 * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    const float denom = sqrtf(v) / bias_correction2_sqrt + eps;
    value[i] = p + (-step_size) * m / denom;
  }
};

struct ema_update {  // shadow = decay * shadow + (1 - decay) * value
  float* shadow;
  const float* value;
  float decay, rest;
  __device__ void operator()(std::int64_t i) const { shadow[i] = decay * shadow[i] + rest * value[i]; }
};

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
