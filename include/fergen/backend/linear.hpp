// fergen/backend/linear.hpp: the fully connected op y = x W^T + b.
#pragma once

#include <fergen/backend/backend.hpp>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// linear<Backend> provides, for x [N, in, 1, 1], weight [out, in] (stored [out, in, 1, 1]), bias [out]:
//   forward(ctx, x, weight, bias_or_null) -> y [N, out, 1, 1]
//   backward_data(ctx, dy, weight) -> dx [N, in, 1, 1]
//   backward_weight(ctx, dy, x, dweight_or_null, dbias_or_null)   accumulates (+=)
template <class Backend>
struct linear {
  static_assert(always_false<Backend>, "linear: no kernel for this backend; CUDA needs nvcc and FERGEN_WITH_CUDA");
};

}  // namespace ops
FERGEN_END_NAMESPACE
