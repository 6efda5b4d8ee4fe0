// fergen/backend/attention.hpp: scaled dot-product self-attention over the pixels of a feature map.
#pragma once

#include <fergen/backend/backend.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/shape.hpp>
#include <fergen/core/tensor.hpp>

#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// The layout of the packed projections: qkv [N, 3C, H, W] holds q in channels [0, C), k in [C, 2C) and v in
// [2C, 3C) (PyTorch's chunk(3, dim=1) order); head h of `heads` uses channels [h d, (h + 1) d) of each,
// d = C / heads. Positions are the T = H W pixels. Returns C.
inline std::int64_t attention_channels(const shape& qkv, std::int64_t heads, const char* what) {
  require(heads > 0, what, ": ", heads, " heads; give at least one");
  require(qkv.c > 0 && qkv.c % 3 == 0, what, ": input ", qkv, " must hold q, k and v stacked along channels (3C)");
  const std::int64_t c = qkv.c / 3;
  require(c % heads == 0, what, ": ", c, " channels do not divide into ", heads, " heads");
  require(qkv.h > 0 && qkv.w > 0, what, ": input ", qkv, " has no pixels");
  return c;
}

// What a forward returns: the attended values and, when kept for backward, the attention weights of every
// (sample, head), [N * heads, T, T, 1], row t = softmax over the keys s of query t.
template <class Backend>
struct attention_result {
  tensor<Backend> y;
  tensor<Backend> weights;
};

// attention<Backend> provides, per sample and head (scale = 1 / sqrt(d)):
//   forward(ctx, qkv, heads, keep_weights) -> attention_result
//       w[t, s] = softmax_s(scale * q[:, t] . k[:, s]);  y[c, t] = sum_s w[t, s] v[c, s]     y: [N, C, H, W]
//   backward(ctx, dy, qkv, weights, heads) -> dqkv [N, 3C, H, W]
// The softmax subtracts each row's maximum and sums in double.
template <class Backend>
struct attention {
  static_assert(always_false<Backend>, "attention: no kernel for this backend; CUDA needs nvcc and FERGEN_WITH_CUDA");
};

}  // namespace ops
FERGEN_END_NAMESPACE
