// fergen/backend/cpu/attention.hpp: self-attention on the CPU: per (sample, head), three single-threaded
// matrix products and a softmax, the tasks spread over the OpenMP threads.
#pragma once

#include <fergen/backend/attention.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/blas.hpp>
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/core/parallel.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <real T>
struct attention<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;
  using context_type = context<cpu<T>>;
  using result_type = attention_result<cpu<T>>;

  static cpu_detail::scratch_buffer<T> scratch(std::int64_t count) { return cpu_detail::scratch_buffer<T>(count); }

  // Row-wise softmax of a T x T block in place, about each row's maximum.
  static void softmax_rows(T* s, std::int64_t rows) {
    for (std::int64_t t = 0; t < rows; ++t) {
      T* row = s + t * rows;
      const T top = *std::max_element(row, row + rows);
      double sum = 0;
      for (std::int64_t j = 0; j < rows; ++j) {
        row[j] = std::exp(row[j] - top);
        sum += static_cast<double>(row[j]);
      }
      const T inv = static_cast<T>(1.0 / sum);
      for (std::int64_t j = 0; j < rows; ++j) row[j] *= inv;
    }
  }

  static result_type forward(context_type&, const tensor_type& qkv, std::int64_t heads, bool keep_weights) {
    const shape qs = qkv.shape();
    const std::int64_t c = attention_channels(qs, heads, "attention");
    const std::int64_t d = c / heads, t = qs.plane();
    const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(d)));
    result_type r{tensor_type::uninitialized({qs.n, c, qs.h, qs.w}),
                  keep_weights ? tensor_type::uninitialized({qs.n * heads, t, t, 1}) : tensor_type()};
    parallel_for(qs.n * heads, [&](std::int64_t task) {
      const std::int64_t n = task / heads, h = task % heads;
      const T* base = qkv.data() + n * qs.per_sample();
      const T* q = base + h * d * t;
      const T* k = base + (c + h * d) * t;
      const T* v = base + (2 * c + h * d) * t;
      cpu_detail::scratch_buffer<T> own;
      T* w = nullptr;
      if (keep_weights) {
        w = r.weights.data() + task * t * t;
      } else {
        own = scratch(t * t);
        w = own.get();
      }
      cpu_blas::gemm(true, false, t, t, d, scale, q, t, k, t, T{0}, w, t);
      softmax_rows(w, t);
      T* y = r.y.data() + n * c * t + h * d * t;
      cpu_blas::gemm(false, true, d, t, t, T{1}, v, t, w, t, T{0}, y, t);
    });
    return r;
  }

  static tensor_type backward(context_type&, const tensor_type& dy, const tensor_type& qkv, const tensor_type& weights,
                              std::int64_t heads) {
    const shape qs = qkv.shape();
    const std::int64_t c = attention_channels(qs, heads, "attention backward");
    const std::int64_t d = c / heads, t = qs.plane();
    require(dy.shape() == shape{qs.n, c, qs.h, qs.w}, "attention backward: gradient ", dy.shape(),
            " does not match the output [", qs.n, ", ", c, ", ", qs.h, ", ", qs.w, "]");
    require(weights.shape() == shape{qs.n * heads, t, t, 1}, "attention backward: saved weights ", weights.shape(),
            " do not match ", qs.n * heads, " blocks of ", t, " x ", t, " (run forward with keep_weights)");
    const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(d)));
    tensor_type dqkv = tensor_type::uninitialized(qs);
    parallel_for(qs.n * heads, [&](std::int64_t task) {
      const std::int64_t n = task / heads, h = task % heads;
      const T* base = qkv.data() + n * qs.per_sample();
      const T* q = base + h * d * t;
      const T* k = base + (c + h * d) * t;
      const T* v = base + (2 * c + h * d) * t;
      T* dbase = dqkv.data() + n * qs.per_sample();
      T* dq = dbase + h * d * t;
      T* dk = dbase + (c + h * d) * t;
      T* dv = dbase + (2 * c + h * d) * t;
      const T* w = weights.data() + task * t * t;
      const T* g = dy.data() + n * c * t + h * d * t;
      auto ds = scratch(t * t);
      // dv[c, s] = sum_t g[c, t] w[t, s];  dw[t, s] = sum_c g[c, t] v[c, s]
      cpu_blas::gemm(false, false, d, t, t, T{1}, g, t, w, t, T{0}, dv, t);
      cpu_blas::gemm(true, false, t, t, d, T{1}, g, t, v, t, T{0}, ds.get(), t);
      // Through the softmax: ds[t, s] = w[t, s] (dw[t, s] - sum_s' w[t, s'] dw[t, s']).
      for (std::int64_t i = 0; i < t; ++i) {
        T* row = ds.get() + i * t;
        const T* wr = w + i * t;
        double dot = 0;
        for (std::int64_t j = 0; j < t; ++j) dot += static_cast<double>(wr[j]) * static_cast<double>(row[j]);
        const T m = static_cast<T>(dot);
        for (std::int64_t j = 0; j < t; ++j) row[j] = wr[j] * (row[j] - m);
      }
      // dq[c, t] = scale sum_s k[c, s] ds[t, s];  dk[c, s] = scale sum_t q[c, t] ds[t, s]
      cpu_blas::gemm(false, true, d, t, t, scale, k, t, ds.get(), t, T{0}, dq, t);
      cpu_blas::gemm(false, false, d, t, t, scale, q, t, ds.get(), t, T{0}, dk, t);
    });
    return dqkv;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
