// fergen/backend/cuda/kernels/attention.cuh: self-attention over the pixels of a feature map: per head, strided
// batched products over the samples (cuBLAS) and a softmax per row of the T x T weights (one thread per row).
#pragma once

#include <fergen/backend/cuda/blas.hpp>
#include <fergen/backend/cuda/kernels/launch.cuh>
#include <fergen/core/shape.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_kernels {

// Row r of the `rows` rows of T values of every sample (r = sample * T + t), at w + sample * stride + t * T:
// softmax about the row's maximum (the first one, as std::max_element finds it), exponentials in float, their
// sum in double, one reciprocal: the CPU's arithmetic in its order. A thread per row keeps the sum's order
// fixed (no atomics); the UNet attends over maps of 12 x 12 or fewer pixels, so rows are short.
struct attention_softmax_rows {
  float* w;
  std::int64_t t, stride;
  FERGEN_HD void operator()(std::int64_t r) const {
    float* row = w + (r / t) * stride + (r % t) * t;
    float top = row[0];
    for (std::int64_t j = 1; j < t; ++j)
      if (top < row[j]) top = row[j];
    double sum = 0;
    for (std::int64_t j = 0; j < t; ++j) {
      row[j] = expf(row[j] - top);
      sum += static_cast<double>(row[j]);
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (std::int64_t j = 0; j < t; ++j) row[j] *= inv;
  }
};

// Through the softmax, row by row: ds[t, s] = w[t, s] (dw[t, s] - sum_s' w[t, s'] dw[t, s']), the dot product in
// double; ds holds dw on entry (rows `ds_stride` apart per sample, T apart within one).
struct attention_softmax_backward_rows {
  const float* w;
  float* ds;
  std::int64_t t, w_stride, ds_stride;
  FERGEN_HD void operator()(std::int64_t r) const {
    const std::int64_t sample = r / t, i = r % t;
    const float* wr = w + sample * w_stride + i * t;
    float* row = ds + sample * ds_stride + i * t;
    double dot = 0;
    for (std::int64_t j = 0; j < t; ++j) dot += static_cast<double>(wr[j]) * static_cast<double>(row[j]);
    const float m = static_cast<float>(dot);
    for (std::int64_t j = 0; j < t; ++j) row[j] = wr[j] * (row[j] - m);
  }
};

// The layout of backend/attention.hpp: qkv [N, 3C, T] with q, k, v in channel blocks of C, head h in channels
// [h d, (h + 1) d) of each; y [N, C, T]; weights [N heads, T, T] (sample-major). Products are batched over the
// samples for one head at a time: the offsets of (sample, head) pairs do not form one stride.
struct attention_dims {
  std::int64_t n, c, heads, d, t;
  explicit attention_dims(const shape& qkv, std::int64_t heads_)
      : n(qkv.n), c(qkv.c / 3), heads(heads_), d(qkv.c / 3 / heads_), t(qkv.plane()) {}
  std::int64_t sample_stride() const { return 3 * c * t; }      // between samples in qkv
  std::int64_t q(std::int64_t h) const { return h * d * t; }     // offsets in one sample of qkv
  std::int64_t k(std::int64_t h) const { return (c + h * d) * t; }
  std::int64_t v(std::int64_t h) const { return (2 * c + h * d) * t; }
  float scale() const { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(d))); }
};

// y, and the weights when `weights` is not null (else a temporary holds one head's), over an engine
// (kernels/engine.cuh).
template <class Engine>
void attention_forward(Engine& e, const float* qkv, const shape& qs, std::int64_t heads, float* y, float* weights) {
  const attention_dims a(qs, heads);
  if (a.n == 0) return;
  const std::int64_t tt = a.t * a.t, s3 = a.sample_stride();
  const auto temporary =
      e.allocate(weights ? 0 : static_cast<std::size_t>(a.n * tt) * sizeof(float), "attention weights");
  for (std::int64_t h = 0; h < heads; ++h) {
    float* w = weights ? weights + h * tt : static_cast<float*>(temporary.get());
    const std::int64_t ws = weights ? heads * tt : tt;
    // w[t, s] = scale q[:, t] . k[:, s]
    e.gemm({true, false, a.t, a.t, a.d, a.scale(), qkv + a.q(h), a.t, s3, qkv + a.k(h), a.t, s3, 0.0f, w, a.t, ws, a.n});
    e.for_each(a.n * a.t, attention_softmax_rows{w, a.t, ws}, "attention softmax");
    // y[c, t] = sum_s v[c, s] w[t, s]
    e.gemm({false, true, a.d, a.t, a.t, 1.0f, qkv + a.v(h), a.t, s3, w, a.t, ws, 0.0f, y + h * a.d * a.t, a.t,
            a.c * a.t, a.n});
  }
}

template <class Engine>
void attention_backward(Engine& e, const float* dy, const float* qkv, const float* weights, const shape& qs,
                        std::int64_t heads, float* dqkv) {
  const attention_dims a(qs, heads);
  if (a.n == 0) return;
  const std::int64_t tt = a.t * a.t, s3 = a.sample_stride(), ws = heads * tt;
  const auto temporary = e.allocate(static_cast<std::size_t>(a.n * tt) * sizeof(float), "attention gradient");
  auto* ds = static_cast<float*>(temporary.get());
  for (std::int64_t h = 0; h < heads; ++h) {
    const float* w = weights + h * tt;
    const float* g = dy + h * a.d * a.t;
    // dv[c, s] = sum_t g[c, t] w[t, s];  dw[t, s] = sum_c g[c, t] v[c, s]
    e.gemm({false, false, a.d, a.t, a.t, 1.0f, g, a.t, a.c * a.t, w, a.t, ws, 0.0f, dqkv + a.v(h), a.t, s3, a.n});
    e.gemm({true, false, a.t, a.t, a.d, 1.0f, g, a.t, a.c * a.t, qkv + a.v(h), a.t, s3, 0.0f, ds, a.t, tt, a.n});
    e.for_each(a.n * a.t, attention_softmax_backward_rows{w, ds, a.t, ws, tt}, "attention softmax backward");
    // dq[c, t] = scale sum_s k[c, s] ds[t, s];  dk[c, s] = scale sum_t q[c, t] ds[t, s]
    e.gemm({false, true, a.d, a.t, a.t, a.scale(), qkv + a.k(h), a.t, s3, ds, a.t, tt, 0.0f, dqkv + a.q(h), a.t, s3,
            a.n});
    e.gemm({false, false, a.d, a.t, a.t, a.scale(), qkv + a.q(h), a.t, s3, ds, a.t, tt, 0.0f, dqkv + a.k(h), a.t, s3,
            a.n});
  }
}

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
