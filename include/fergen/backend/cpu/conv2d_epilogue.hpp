// fergen/backend/cpu/conv2d_epilogue.hpp: what the CPU's fused convolution (backend/cpu/conv2d_fused.hpp) applies to
// each output channel after the convolution: an inference BatchNorm, then a ReLU.
#pragma once

#include <fergen/core/parallel.hpp>
#include <fergen/core/shape.hpp>

#include <algorithm>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops::cpu_conv {

// (y - mean) * scale + shift with the per-channel constants batch_norm's forward_inference computes
// (cpu_batch_norm::channel_constants), then y > 0 ? y : 0: the same float operations in the same order as those
// two ops, so the fused op gives their bits. oneDNN's post-ops (conv2d_onednn.hpp) do the same three steps.
template <class T>
struct epilogue {
  const T* mean = nullptr;  // C values each; mean null: no normalisation
  const T* scale = nullptr;
  const T* shift = nullptr;
  bool relu = false;

  bool empty() const { return mean == nullptr && !relu; }

  // count values of output channel c, in place.
  void apply(T* y, std::int64_t c, std::int64_t count) const {
    if (!mean) {
      if (relu)
        for (std::int64_t i = 0; i < count; ++i) y[i] = y[i] > T(0) ? y[i] : T(0);
      return;
    }
    const T m = mean[c], a = scale[c], b = shift[c];
    if (relu) {
      for (std::int64_t i = 0; i < count; ++i) {
        const T v = (y[i] - m) * a + b;
        y[i] = v > T(0) ? v : T(0);
      }
    } else {
      for (std::int64_t i = 0; i < count; ++i) y[i] = (y[i] - m) * a + b;
    }
  }

  // Every channel of a whole [N, C, H, W] output.
  void apply_all(T* y, const shape& ys) const {
    if (empty()) return;
    const std::int64_t p = ys.plane();
    parallel_for(ys.n * ys.c, [&](std::int64_t i) { apply(y + i * p, i % ys.c, p); },
                 std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(p, 1)));
  }
};

}  // namespace ops::cpu_conv
FERGEN_END_NAMESPACE
