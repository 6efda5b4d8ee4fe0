// fergen/backend/channel_bias.hpp: adding a per-sample, per-channel value to every pixel of a feature map.
#pragma once

#include <fergen/backend/backend.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/shape.hpp>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// The shape rule: x [N, C, H, W] takes a bias [N, C, 1, 1], one value per sample and channel. This is how a
// diffusion UNet's residual block injects the time (and class) embedding: h += proj(emb)[:, :, None, None].
inline void check_channel_bias(const shape& x, const shape& bias, const char* what) {
  require(bias.n == x.n && bias.c == x.c && bias.h == 1 && bias.w == 1, what, ": bias ", bias,
          " does not fit input ", x, " (it must be [N, C, 1, 1] = [", x.n, ", ", x.c, ", 1, 1])");
}

// channel_bias<Backend> provides:
//   forward(ctx, x, bias) -> y            y[n, c, h, w] = x[n, c, h, w] + bias[n, c]
//   backward_bias(ctx, dy) -> dbias       dbias[n, c] = sum over h, w of dy[n, c, h, w], as [N, C, 1, 1]
// (the gradient with respect to x is dy itself: no kernel needed). Sums are accumulated in double.
template <class Backend>
struct channel_bias {
  static_assert(always_false<Backend>,
                "channel_bias: no kernel for this backend; CUDA needs nvcc and FERGEN_WITH_CUDA");
};

}  // namespace ops
FERGEN_END_NAMESPACE
