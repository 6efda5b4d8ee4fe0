// fergen/backend/arithmetic.hpp: whole-tensor arithmetic that composites and optimisers need.
#pragma once

#include <fergen/backend/backend.hpp>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// arithmetic<Backend> provides:
//   add(ctx, a, b) -> a + b                      (same shapes; the message names both otherwise)
//   accumulate(ctx, into, x, alpha = 1)          into += alpha * x, in place (gradients, sums)
//   scale(ctx, x, alpha) -> alpha * x
//   sum_squares(ctx, x) -> double                (gradient norms)
//   concat_channels(ctx, parts) -> y             parts share N, H, W; y stacks their channels in order
//   split_channels(ctx, y, channels) -> parts    the adjoint of concat_channels
template <class Backend>
struct arithmetic {
  static_assert(always_false<Backend>, "arithmetic: no kernel for this backend; CUDA needs nvcc and FERGEN_WITH_CUDA");
};

}  // namespace ops
FERGEN_END_NAMESPACE
