// fergen/backend/cuda/kernels/optimizer.cuh: the optimisers' updates, one fused kernel per parameter tensor,
// with the CPU kernel's (and torch.optim's) order of operations.
#pragma once

#include <fergen/backend/cuda/kernels/launch.cuh>
#include <fergen/backend/optimizer_steps.hpp>

#include <cmath>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_kernels {

struct sgd_update {
  float* value;
  const float* grad;
  float* buffer;  // null: no momentum
  float lr, weight_decay, momentum, keep;
  bool decay, nesterov, first_step;
  FERGEN_HD void operator()(std::int64_t i) const {
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
  FERGEN_HD void operator()(std::int64_t i) const {
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
  FERGEN_HD void operator()(std::int64_t i) const { shadow[i] = decay * shadow[i] + rest * value[i]; }
};


// The updates of one parameter with the hyper-parameters cast to float once, as the CPU kernel casts them to T.
inline sgd_update make_sgd_update(float* value, const float* grad, float* momentum_buffer, const sgd_step_options& o,
                                  bool first_step) {
  return {value,
          grad,
          momentum_buffer,
          static_cast<float>(o.lr),
          static_cast<float>(o.weight_decay),
          static_cast<float>(o.momentum),
          static_cast<float>(1.0 - o.dampening),
          o.weight_decay != 0,
          o.nesterov,
          first_step};
}

inline adam_update make_adam_update(float* value, const float* grad, float* exp_avg, float* exp_avg_sq,
                                    const adam_step_options& o) {
  return {value,
          grad,
          exp_avg,
          exp_avg_sq,
          static_cast<float>(o.beta1),
          static_cast<float>(1.0 - o.beta1),
          static_cast<float>(o.beta2),
          static_cast<float>(1.0 - o.beta2),
          static_cast<float>(o.eps),
          static_cast<float>(o.weight_decay),
          static_cast<float>(1.0 - o.lr * o.weight_decay),
          static_cast<float>(o.lr / o.bias_correction1()),
          static_cast<float>(std::sqrt(o.bias_correction2())),
          !o.decoupled_weight_decay && o.weight_decay != 0,
          o.decoupled_weight_decay};
}

inline ema_update make_ema_update(float* shadow, const float* value, double decay) {
  return {shadow, value, static_cast<float>(decay), static_cast<float>(1.0 - decay)};
}

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
