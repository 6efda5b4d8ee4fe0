// fergen/backend/cpu/arithmetic.hpp: whole-tensor arithmetic on the CPU.
#pragma once

#include <fergen/backend/arithmetic.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/core/parallel.hpp>

#include <algorithm>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <real T>
struct arithmetic<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;
  using context_type = context<cpu<T>>;
  static constexpr std::int64_t grain = 16384;

  static tensor_type add(context_type&, const tensor_type& a, const tensor_type& b) {
    require(a.shape() == b.shape(), "add: shapes ", a.shape(), " and ", b.shape(), " differ");
    tensor_type c = tensor_type::uninitialized(a.shape());
    const T *pa = a.data(), *pb = b.data();
    T* pc = c.data();
    parallel_for(a.size(), [&](std::int64_t i) { pc[i] = pa[i] + pb[i]; }, grain);
    return c;
  }

  static void accumulate(context_type&, tensor_type& into, const tensor_type& x, T alpha = T(1)) {
    require(into.shape() == x.shape(), "accumulate: shapes ", into.shape(), " and ", x.shape(), " differ");
    T* out = into.data();
    const T* in = x.data();
    parallel_for(x.size(), [&](std::int64_t i) { out[i] += alpha * in[i]; }, grain);
  }

  static tensor_type scale(context_type&, const tensor_type& x, T alpha) {
    tensor_type y = tensor_type::uninitialized(x.shape());
    const T* in = x.data();
    T* out = y.data();
    parallel_for(x.size(), [&](std::int64_t i) { out[i] = alpha * in[i]; }, grain);
    return y;
  }

  // Summed in double over fixed blocks, so the result does not depend on the number of threads.
  static double sum_squares(context_type&, const tensor_type& x) {
    constexpr std::int64_t block = 65536;
    const std::int64_t blocks = (x.size() + block - 1) / block;
    std::vector<double> partial(static_cast<std::size_t>(blocks));
    const T* v = x.data();
    parallel_for(blocks, [&](std::int64_t b) {
      double sum = 0;
      for (std::int64_t i = b * block, end = std::min(x.size(), i + block); i < end; ++i)
        sum += static_cast<double>(v[i]) * static_cast<double>(v[i]);
      partial[static_cast<std::size_t>(b)] = sum;
    });
    double total = 0;
    for (double p : partial) total += p;
    return total;
  }

  static tensor_type concat_channels(context_type&, const std::vector<tensor_type>& parts) {
    require(!parts.empty(), "concat_channels: nothing to concatenate");
    shape out = parts.front().shape();
    out.c = 0;
    for (const auto& p : parts) {
      const shape s = p.shape();
      require(s.n == out.n && s.h == out.h && s.w == out.w, "concat_channels: cannot stack ", s, " onto ",
              parts.front().shape(), " (batch, height and width must agree)");
      out.c += s.c;
    }
    tensor_type y = tensor_type::uninitialized(out);
    const std::int64_t plane = out.plane();
    parallel_for(out.n, [&](std::int64_t n) {
      T* dst = y.data() + n * out.per_sample();
      for (const auto& p : parts) {
        const std::int64_t len = p.shape().c * plane;
        std::copy_n(p.data() + n * len, len, dst);
        dst += len;
      }
    });
    return y;
  }

  static std::vector<tensor_type> split_channels(context_type&, const tensor_type& y,
                                                 const std::vector<std::int64_t>& channels) {
    const shape s = y.shape();
    std::int64_t total = 0;
    for (auto c : channels) total += c;
    require(total == s.c, "split_channels: parts of ", total, " channels in total cannot split ", s);
    std::vector<tensor_type> parts;
    parts.reserve(channels.size());
    for (auto c : channels) parts.push_back(tensor_type::uninitialized({s.n, c, s.h, s.w}));
    const std::int64_t plane = s.plane();
    parallel_for(s.n, [&](std::int64_t n) {
      const T* src = y.data() + n * s.per_sample();
      for (std::size_t i = 0; i < parts.size(); ++i) {
        const std::int64_t len = channels[i] * plane;
        std::copy_n(src, len, parts[i].data() + n * len);
        src += len;
      }
    });
    return parts;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
