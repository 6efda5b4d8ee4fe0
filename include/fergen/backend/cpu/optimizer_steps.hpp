// fergen/backend/cpu/optimizer_steps.hpp: the optimisers' update kernels on the CPU.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/backend/optimizer_steps.hpp>
#include <fergen/core/parallel.hpp>

#include <cmath>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// Each element is updated on its own, so the results do not depend on the number of threads. The
// expressions keep PyTorch's order of operations (add with alpha is self + alpha * other, addcmul is
// self + value * t1 * t2, addcdiv is self + value * t1 / t2), so float64 trajectories agree with
// torch.optim to rounding.
template <real T>
struct optimizer_steps<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;
  using context_type = context<cpu<T>>;
  static constexpr std::int64_t grain = 16384;

  static void sgd_step(context_type&, tensor_type& value, const tensor_type& grad, tensor_type* momentum_buffer,
                       const sgd_step_options& o, bool first_step) {
    require(grad.size() == value.size() && (!momentum_buffer || momentum_buffer->size() == value.size()),
            "sgd_step: parameter ", value.shape(), ", gradient ", grad.shape(), " and momentum buffer ",
            momentum_buffer ? momentum_buffer->shape() : value.shape(), " differ in size");
    const T lr = static_cast<T>(o.lr), weight_decay = static_cast<T>(o.weight_decay);
    const T momentum = static_cast<T>(o.momentum), keep = static_cast<T>(1.0 - o.dampening);
    const bool decay = o.weight_decay != 0, nesterov = o.nesterov;
    T* p = value.data();
    const T* g = grad.data();
    T* buf = momentum_buffer ? momentum_buffer->data() : nullptr;
    parallel_for(value.size(), [&](std::int64_t i) {
      T d = decay ? g[i] + weight_decay * p[i] : g[i];
      if (buf) {
        // torch starts the buffer at the first (decayed) gradient, without dampening.
        const T b = first_step ? d : buf[i] * momentum + keep * d;
        buf[i] = b;
        d = nesterov ? d + momentum * b : b;
      }
      p[i] = p[i] + (-lr) * d;
    }, grain);
  }

  static void adam_step(context_type&, tensor_type& value, const tensor_type& grad, tensor_type& exp_avg,
                        tensor_type& exp_avg_sq, const adam_step_options& o) {
    require(grad.size() == value.size() && exp_avg.size() == value.size() && exp_avg_sq.size() == value.size(),
            "adam_step: parameter ", value.shape(), ", gradient ", grad.shape(), ", exp_avg ", exp_avg.shape(),
            " and exp_avg_sq ", exp_avg_sq.shape(), " differ in size");
    const T beta1 = static_cast<T>(o.beta1), one_minus_beta1 = static_cast<T>(1.0 - o.beta1);
    const T beta2 = static_cast<T>(o.beta2), one_minus_beta2 = static_cast<T>(1.0 - o.beta2);
    const T eps = static_cast<T>(o.eps), weight_decay = static_cast<T>(o.weight_decay);
    const T shrink = static_cast<T>(1.0 - o.lr * o.weight_decay);
    const T step_size = static_cast<T>(o.lr / o.bias_correction1());
    const T bias_correction2_sqrt = static_cast<T>(std::sqrt(o.bias_correction2()));
    const bool coupled = !o.decoupled_weight_decay && o.weight_decay != 0;
    const bool decoupled = o.decoupled_weight_decay;
    T* p = value.data();
    const T* g = grad.data();
    T* m = exp_avg.data();
    T* v = exp_avg_sq.data();
    parallel_for(value.size(), [&](std::int64_t i) {
      if (decoupled) p[i] = p[i] * shrink;
      const T gi = coupled ? g[i] + weight_decay * p[i] : g[i];
      m[i] = m[i] * beta1 + one_minus_beta1 * gi;
      v[i] = v[i] * beta2 + one_minus_beta2 * gi * gi;
      const T denom = std::sqrt(v[i]) / bias_correction2_sqrt + eps;
      p[i] = p[i] + (-step_size) * m[i] / denom;
    }, grain);
  }

  static void ema_step(context_type&, tensor_type& shadow, const tensor_type& value, double decay) {
    require(shadow.size() == value.size(), "ema_step: average ", shadow.shape(), " and parameter ", value.shape(),
            " differ in size");
    const T d = static_cast<T>(decay), rest = static_cast<T>(1.0 - decay);
    T* s = shadow.data();
    const T* p = value.data();
    parallel_for(shadow.size(), [&](std::int64_t i) { s[i] = d * s[i] + rest * p[i]; }, grain);
  }

  static void scale(context_type&, tensor_type& x, double alpha) {
    const T a = static_cast<T>(alpha);
    T* px = x.data();
    parallel_for(x.size(), [&](std::int64_t i) { px[i] = px[i] * a; }, grain);
  }

  static void copy(context_type&, tensor_type& into, const tensor_type& from) {
    require(into.size() == from.size(), "copy: destination ", into.shape(), " and source ", from.shape(),
            " differ in size");
    T* out = into.data();
    const T* in = from.data();
    parallel_for(into.size(), [&](std::int64_t i) { out[i] = in[i]; }, grain);
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
