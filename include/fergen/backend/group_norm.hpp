// fergen/backend/group_norm.hpp: group normalisation per (sample, group), the kernel each backend provides.
#pragma once

#include <fergen/backend/backend.hpp>
#include <fergen/core/tensor.hpp>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// What a forward returns: the output and the mean and 1/sqrt(var + eps) of every (sample, group), stored
// [N, G, 1, 1], which backward needs.
template <class Backend>
struct group_norm_result {
  tensor<Backend> y;
  tensor<Backend> mean;
  tensor<Backend> invstd;
};

// group_norm<Backend> provides, for x [N, C, H, W] with C divisible by groups G, and per-channel weight and
// bias of C values (stored [C, 1, 1, 1]; null weight means 1, null bias 0):
//   forward(ctx, x, groups, weight_or_null, bias_or_null, eps) -> group_norm_result
//       statistics over the C/G channels and H x W pixels of each (sample, group), biased variance; the
//       same in training and evaluation (no running statistics)
//   backward(ctx, dy, x, groups, weight_or_null, mean, invstd, dweight_or_null, dbias_or_null) -> dx
//       the full gradient through the statistics; dweight and dbias accumulate (+=) and may be null
// Statistics are accumulated in double whatever T is.
template <class Backend>
struct group_norm {
  static_assert(always_false<Backend>,
                "group_norm: no kernel for this backend; CUDA needs nvcc and FERGEN_WITH_CUDA");
};

}  // namespace ops
FERGEN_END_NAMESPACE
