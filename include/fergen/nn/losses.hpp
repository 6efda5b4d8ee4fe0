// fergen/nn/losses.hpp: the training losses: softmax cross-entropy for classifiers, MSE for diffusion.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/losses.hpp>
#include <fergen/backend/losses.hpp>
#include <fergen/core/tensor.hpp>

#include <cstdint>
#include <optional>
#include <span>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// A loss value and the gradient of that value with respect to the network's output, ready for
// net.backward(ctx, gradient).
template <class B>
struct loss_result {
  double value;
  tensor<B> gradient;
};

// torch.nn.CrossEntropyLoss(label_smoothing=s) on logits [N, K, 1, 1] and integer labels, mean over N.
template <class B>
loss_result<B> cross_entropy(context<B>& ctx, const tensor<B>& logits, std::span<const std::int64_t> labels,
                             double label_smoothing = 0.0) {
  auto [value, gradient] = ops::losses<B>::softmax_cross_entropy(ctx, logits, labels, label_smoothing);
  return {value, std::move(gradient)};
}

// torch.nn.MSELoss() (mean over every element). Optional per-sample weights scale each sample's squared
// errors (min-SNR weighting in diffusion training); the mean still divides by the element count.
template <class B>
loss_result<B> mse(context<B>& ctx, const tensor<B>& prediction, const tensor<B>& target,
                   std::span<const double> sample_weights = {}) {
  auto [value, gradient] = ops::losses<B>::mse(ctx, prediction, target, sample_weights);
  return {value, std::move(gradient)};
}

}  // namespace nn
FERGEN_END_NAMESPACE
