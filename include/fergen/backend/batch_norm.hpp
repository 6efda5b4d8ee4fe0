// fergen/backend/batch_norm.hpp: batch normalisation over (N, H, W) per channel, the kernel each backend provides.
#pragma once

#include <fergen/backend/backend.hpp>
#include <fergen/core/tensor.hpp>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// Which statistics a forward normalised with, and so what its backward differentiates through: batch
// statistics depend on every input of the channel, running statistics are constants.
enum class batch_norm_statistics { batch, running };

// What a forward returns: the output and the per-channel mean and 1/sqrt(var + eps) it used (C values,
// stored [C, 1, 1, 1]), which backward needs.
template <class Backend>
struct batch_norm_result {
  tensor<Backend> y;
  tensor<Backend> mean;
  tensor<Backend> invstd;
};

// batch_norm<Backend> provides, for x [N, C, H, W] and per-channel tensors of C values (weight, bias,
// running_mean, running_var, stored [C, 1, 1, 1]); a null weight means 1, a null bias 0 (affine = false):
//   forward_training(ctx, x, weight_or_null, bias_or_null, eps, running_mean_or_null, running_var_or_null,
//                    factor) -> batch_norm_result
//       normalises with the batch mean and the biased batch variance over (N, H, W); when the running
//       tensors are given, also updates them IN PLACE with the unbiased variance:
//       running = (1 - factor) * running + factor * batch (as cuDNN's exponentialAverageFactor: one pass
//       over the data instead of a second kernel). Requires N * H * W > 1.
//   forward_inference(ctx, x, weight_or_null, bias_or_null, running_mean, running_var, eps)
//       -> batch_norm_result   normalises with the running statistics
//   backward(ctx, dy, x, weight_or_null, mean, invstd, statistics, dweight_or_null, dbias_or_null) -> dx
//       mean and invstd are those the forward returned; statistics::batch differentiates through the batch
//       statistics, statistics::running through the affine map only. dweight and dbias accumulate (+=)
//       and may be null (frozen or absent parameters).
// Statistics are accumulated in double whatever T is.
template <class Backend>
struct batch_norm {
  static_assert(always_false<Backend>,
                "batch_norm: no kernel for this backend; CUDA needs nvcc and FERGEN_WITH_CUDA");
};

}  // namespace ops
FERGEN_END_NAMESPACE
