// fergen/backend/cuda/kernels/losses.cuh: softmax cross-entropy (one thread per sample) and mean squared error.
#pragma once

#include <fergen/backend/cuda/kernels/launch.cuh>
#include <fergen/backend/cuda/kernels/reduce.cuh>

#include <cmath>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_kernels {

// One thread per sample runs the CPU kernel's loop: log-sum-exp about the maximum (the first one, as
// std::max_element finds it) in double, loss = -sum q log p, grad = (p - q) / N. Classifier heads are narrow
// (7 classes here, 1000 at most), so a sample is little work; the per-sample losses go to the host, which adds
// them in order.
struct softmax_cross_entropy_sample {
  const float* logits;
  const std::int64_t* labels;
  float* grad;
  double* losses;
  std::int64_t n, classes;
  double on_target, off_target;
  FERGEN_HD void operator()(std::int64_t sample) const {
    const float* z = logits + sample * classes;
    float* g = grad + sample * classes;
    float top = z[0];
    for (std::int64_t k = 1; k < classes; ++k)
      if (top < z[k]) top = z[k];
    double sum = 0;
    for (std::int64_t k = 0; k < classes; ++k) sum += exp(static_cast<double>(z[k]) - static_cast<double>(top));
    const double log_sum = static_cast<double>(top) + log(sum);
    const std::int64_t label = labels[sample];
    double loss = 0;
    for (std::int64_t k = 0; k < classes; ++k) {
      const double log_p = static_cast<double>(z[k]) - log_sum;
      const double q = k == label ? on_target : off_target;
      loss -= q * log_p;
      g[k] = static_cast<float>((exp(log_p) - q) / static_cast<double>(n));
    }
    losses[sample] = loss;
  }
};

// MSE per sample: loads (p - t)^2 in double and writes the gradient 2 w d / count as it goes (segment_sums
// loads each element once); the finish stores w * sum for the host.
struct load_mse {
  const float* prediction;
  const float* target;
  float* grad;
  const double* weights;  // null: every sample weighs 1
  std::int64_t per_sample;
  double count;
  FERGEN_HD sums<1> operator()(std::int64_t sample, std::int64_t e) const {
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
  FERGEN_HD void operator()(std::int64_t sample, const sums<1>& total) const {
    out[sample] = (weights ? weights[sample] : 1.0) * total.v[0];
  }
};


// MSE's per-sample weighted sums into `per_sample` (N values) and its gradient, over an engine
// (kernels/engine.cuh). weights: N values, or null for 1.
template <class Engine>
void mse_per_sample(Engine& e, const float* prediction, const float* target, const double* weights,
                    std::int64_t samples, std::int64_t per_sample_count, float* grad, double* per_sample) {
  const auto count = static_cast<double>(samples * per_sample_count);
  e.template segment_sums<1>(samples, per_sample_count,
                             load_mse{prediction, target, grad, weights, per_sample_count, count},
                             store_weighted{weights, per_sample}, "mse");
}

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
