// fergen/backend/cuda/kernels/channel_bias.cuh: the per-sample channel bias of the UNet's residual blocks (the
// embedding added to every pixel) and its gradient, a sum per (sample, channel) plane.
#pragma once

#include <fergen/backend/cuda/kernels/reduce.cuh>

#include <cstdint>
#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_kernels {

// y[i] = x[i] + bias[plane of i]: bias holds one value per (sample, channel), the planes of NCHW in order.
struct add_plane_values {
  const float* x;
  const float* bias;
  float* y;
  std::int64_t plane;
  FERGEN_HD void operator()(std::int64_t i) const { y[i] = x[i] + bias[i / plane]; }
};

// Stores the total, rounded to float (the CPU's cast of its double sum).
struct store_float_total {
  float* out;
  FERGEN_HD void operator()(std::int64_t s, const sums<1>& total) const { out[s] = static_cast<float>(total.v[0]); }
};

// The two passes over an engine (kernels/engine.cuh); planes = N C, each of `plane` pixels.
template <class Engine>
void channel_bias_forward(Engine& e, const float* x, const float* bias, std::int64_t planes, std::int64_t plane,
                          float* y) {
  e.for_each(planes * plane, add_plane_values{x, bias, y, plane}, "channel_bias");
}

// dbias[s] = sum of dy over plane s, in double (a fixed-order reduction, as every sum of the backend).
template <class Engine>
void channel_bias_backward(Engine& e, const float* dy, std::int64_t planes, std::int64_t plane, float* dbias) {
  e.template segment_sums<1>(planes, plane, load_value<contiguous_index>{dy, {plane}}, store_float_total{dbias},
                             "channel_bias backward");
}

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
