// fergen/backend/dropout.hpp: inverted dropout with a counter-based mask.
#pragma once

#include <fergen/backend/backend.hpp>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// dropout<Backend> provides:
//   forward(ctx, x, p, stream) -> {y, mask}   element i is kept when stream.uniform(i) >= p, then scaled by
//                                              1 / (1 - p); mask holds that factor (0 or 1/(1-p)) per element
//   backward(ctx, dy, mask) -> dy * mask
// The mask depends only on (seed, stream id, i): the same on every device and thread count.
template <class Backend>
struct dropout {
  static_assert(always_false<Backend>, "dropout: no kernel for this backend; CUDA needs nvcc and FERGEN_WITH_CUDA");
};

}  // namespace ops
FERGEN_END_NAMESPACE
