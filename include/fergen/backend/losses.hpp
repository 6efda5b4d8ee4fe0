// fergen/backend/losses.hpp: loss functions, each giving its value and its gradient in one pass.
#pragma once

#include <fergen/backend/backend.hpp>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// losses<Backend> provides (both reduce by the mean, as PyTorch's default reduction does):
//   softmax_cross_entropy(ctx, logits [N, K, 1, 1], labels (N host integers), label_smoothing)
//       -> {loss, dlogits}                 target q = (1 - s) onehot + s / K; dlogits = (softmax - q) / N
//   mse(ctx, prediction, target, sample_weights (N host values, or empty for 1))
//       -> {loss, dprediction}             loss = mean_n w_n mean_i (p - t)^2
template <class Backend>
struct losses {
  static_assert(always_false<Backend>, "losses: no kernel for this backend; CUDA needs nvcc and FERGEN_WITH_CUDA");
};

}  // namespace ops
FERGEN_END_NAMESPACE
