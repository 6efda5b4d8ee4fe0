// fergen/backend/optimizer_steps.hpp: the per-tensor update kernels of the optimisers, EMA and clipping.
#pragma once

#include <fergen/backend/backend.hpp>

#include <cmath>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// The hyper-parameters of one SGD update, as torch.optim.SGD takes them. Kept in double here: each kernel
// casts them to its element type once, as PyTorch casts a Python float scalar to the tensor's dtype.
struct sgd_step_options {
  double lr = 0;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
};

// The hyper-parameters of one Adam/AdamW update of one parameter, with that parameter's step count
// (1 on its first update). The bias corrections are computed in double from the step count, as
// torch.optim.Adam does in Python, and only their final quotients are cast to the element type.
struct adam_step_options {
  double lr = 0;
  double beta1 = 0;
  double beta2 = 0;
  double eps = 0;
  double weight_decay = 0;
  bool decoupled_weight_decay = false;
  std::int64_t step = 1;

  double bias_correction1() const { return 1.0 - std::pow(beta1, static_cast<double>(step)); }
  double bias_correction2() const { return 1.0 - std::pow(beta2, static_cast<double>(step)); }
};

// optimizer_steps<Backend> provides, in place, for tensors of equal shape (the caller checks shapes, so
// that a whole optimiser step is validated before any parameter changes):
//   sgd_step(ctx, value, grad, momentum_buffer_or_null, sgd_step_options, first_step)
//       torch.optim.SGD for one parameter: d = grad + weight_decay * value; with a momentum buffer,
//       buffer = first_step ? d : momentum * buffer + (1 - dampening) * d, and d = nesterov ?
//       d + momentum * buffer : buffer; then value -= lr * d. The gradient is left unchanged.
//   adam_step(ctx, value, grad, exp_avg, exp_avg_sq, adam_step_options)
//       torch.optim.Adam (L2 weight decay added to the gradient) or torch.optim.AdamW (decoupled:
//       value *= 1 - lr * weight_decay first), then the moment updates and
//       value -= lr / bc1 * exp_avg / (sqrt(exp_avg_sq) / sqrt(bc2) + eps).
//   ema_step(ctx, shadow, value, decay)      shadow = decay * shadow + (1 - decay) * value
//   scale(ctx, x, alpha)                     x *= alpha (gradient clipping)
//   copy(ctx, into, from)                    into = from (EMA copies of buffers)
// A backend can fuse these (the CUDA backend: one kernel per parameter, or one for all of them).
template <class Backend>
struct optimizer_steps {
  static_assert(always_false<Backend>,
                "optimizer_steps: no kernel for this backend; CUDA needs nvcc and FERGEN_WITH_CUDA");
};

}  // namespace ops
FERGEN_END_NAMESPACE
