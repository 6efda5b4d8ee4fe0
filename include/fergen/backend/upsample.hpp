// fergen/backend/upsample.hpp: nearest-neighbour upsampling by an integer factor: its shape rule and the
// kernel each backend provides.
#pragma once

#include <fergen/backend/backend.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/shape.hpp>

#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops {

inline void validate_upsample_scale(std::int64_t scale) {
  require(scale >= 1, "upsample_nearest: scale factor ", scale, " must be a positive integer");
}

// [N, C, H, W] -> [N, C, H * scale, W * scale]; the message names the input when it is empty.
inline shape upsample_output(const shape& x, std::int64_t scale) {
  validate_upsample_scale(scale);
  require(x.n >= 0 && x.c > 0 && x.h > 0 && x.w > 0, "upsample_nearest(x", scale, "): input ", x,
          " has an empty or negative dimension");
  return {x.n, x.c, x.h * scale, x.w * scale};
}

// upsample_nearest<Backend> provides (torch.nn.Upsample(scale_factor=scale, mode='nearest'), whose
// output pixel (i, j) reads input pixel (i / scale, j / scale) for an integer scale):
//   forward(ctx, x, scale) -> y        every input pixel becomes a scale x scale block
//   backward(ctx, dy, x_shape, scale) -> dx        the sum of each block of dy
template <class Backend>
struct upsample_nearest {
  static_assert(always_false<Backend>,
                "upsample_nearest: no kernel for this backend; CUDA needs nvcc and FERGEN_WITH_CUDA");
};

}  // namespace ops
FERGEN_END_NAMESPACE
