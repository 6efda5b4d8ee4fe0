// fergen/backend/cuda/arithmetic.hpp: whole-tensor arithmetic on the GPU.
#pragma once

#include <fergen/backend/arithmetic.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/cuda/kernels/elementwise.cuh>
#include <fergen/backend/cuda/kernels/reduce.cuh>
#include <fergen/backend/cuda/tensor.hpp>

#include <cstdint>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace ops {
namespace cuda_kernels {

struct load_square {
  const float* x;
  FERGEN_HD sums<1> operator()(std::int64_t, std::int64_t i) const {
    const double v = x[i];
    return {{v * v}};
  }
};
struct store_total {
  double* out;
  FERGEN_HD void operator()(std::int64_t s, const sums<1>& total) const { out[s] = total.v[0]; }
};

}  // namespace cuda_kernels

template <>
struct arithmetic<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;
  using context_type = context<cuda<float>>;

  static tensor_type add(context_type& ctx, const tensor_type& a, const tensor_type& b) {
    require(a.shape() == b.shape(), "add: shapes ", a.shape(), " and ", b.shape(), " differ");
    tensor_type c = tensor_type::uninitialized(a.shape());
    cuda_kernels::for_each_index(ctx.resources.stream(), a.size(),
                                 cuda_kernels::add_values{a.data(), b.data(), c.data()}, "add");
    return c;
  }

  static void accumulate(context_type& ctx, tensor_type& into, const tensor_type& x, float alpha = 1.0f) {
    require(into.shape() == x.shape(), "accumulate: shapes ", into.shape(), " and ", x.shape(), " differ");
    cuda_kernels::for_each_index(ctx.resources.stream(), x.size(),
                                 cuda_kernels::accumulate_values{into.data(), x.data(), alpha}, "accumulate");
  }

  static tensor_type scale(context_type& ctx, const tensor_type& x, float alpha) {
    tensor_type y = tensor_type::uninitialized(x.shape());
    cuda_kernels::for_each_index(ctx.resources.stream(), x.size(),
                                 cuda_kernels::scale_values{x.data(), y.data(), alpha}, "scale");
    return y;
  }

  // Summed in double in a fixed order (see cuda_kernels::segment_sums): the same bits on every run. It
  // returns a host value, so it waits for the GPU.
  static double sum_squares(context_type& ctx, const tensor_type& x) {
    if (x.empty()) return 0.0;
    auto& rt = ctx.resources.runtime();
    const cuda_detail::device_allocation total(rt, sizeof(double), "sum_squares result");
    cuda_kernels::segment_sums<1>(rt, 1, x.size(), cuda_kernels::load_square{x.data()},
                                  cuda_kernels::store_total{static_cast<double*>(total.get())}, "sum_squares");
    double result = 0;
    FERGEN_CUDA_CHECK(cudaMemcpyAsync(&result, total.get(), sizeof(double), cudaMemcpyDeviceToHost, rt.stream));
    FERGEN_CUDA_CHECK(cudaStreamSynchronize(rt.stream));
    return result;
  }

  // Each part is one strided copy: its N blocks of C_i * H * W values into the output's rows.
  static tensor_type concat_channels(context_type& ctx, const std::vector<tensor_type>& parts) {
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
    std::int64_t offset = 0;
    for (const auto& p : parts) {
      const std::int64_t len = p.shape().c * out.plane();
      copy_rows(ctx, y.data() + offset, out.per_sample(), p.data(), len, len, out.n);
      offset += len;
    }
    return y;
  }

  static std::vector<tensor_type> split_channels(context_type& ctx, const tensor_type& y,
                                                 const std::vector<std::int64_t>& channels) {
    const shape s = y.shape();
    std::int64_t total = 0;
    for (auto c : channels) total += c;
    require(total == s.c, "split_channels: parts of ", total, " channels in total cannot split ", s);
    std::vector<tensor_type> parts;
    parts.reserve(channels.size());
    std::int64_t offset = 0;
    for (auto c : channels) {
      tensor_type part = tensor_type::uninitialized({s.n, c, s.h, s.w});
      const std::int64_t len = c * s.plane();
      copy_rows(ctx, part.data(), len, y.data() + offset, s.per_sample(), len, s.n);
      parts.push_back(std::move(part));
      offset += len;
    }
    return parts;
  }

 private:
  // rows x `width` floats from src (rows `src_pitch` apart) to dst (rows `dst_pitch` apart), on the device.
  static void copy_rows(context_type& ctx, float* dst, std::int64_t dst_pitch, const float* src, std::int64_t src_pitch,
                        std::int64_t width, std::int64_t rows) {
    if (width == 0 || rows == 0) return;
    constexpr auto f = sizeof(float);
    FERGEN_CUDA_CHECK(cudaMemcpy2DAsync(dst, static_cast<std::size_t>(dst_pitch) * f, src,
                                        static_cast<std::size_t>(src_pitch) * f, static_cast<std::size_t>(width) * f,
                                        static_cast<std::size_t>(rows), cudaMemcpyDeviceToDevice,
                                        ctx.resources.stream()));
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
