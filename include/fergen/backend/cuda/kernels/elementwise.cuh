// fergen/backend/cuda/kernels/elementwise.cuh: the arithmetic and activation kernels, one function object
// per element for for_each_index.
#pragma once

#include <fergen/backend/cuda/kernels/launch.cuh>

#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_kernels {

struct add_values {  // c = a + b
  const float* a;
  const float* b;
  float* c;
  FERGEN_HD void operator()(std::int64_t i) const { c[i] = a[i] + b[i]; }
};

struct accumulate_values {  // into += alpha * x
  float* into;
  const float* x;
  float alpha;
  FERGEN_HD void operator()(std::int64_t i) const { into[i] += alpha * x[i]; }
};

struct scale_values {  // y = alpha * x (in place when y == x)
  const float* x;
  float* y;
  float alpha;
  FERGEN_HD void operator()(std::int64_t i) const { y[i] = alpha * x[i]; }
};

struct multiply_values {  // c = a * b
  const float* a;
  const float* b;
  float* c;
  FERGEN_HD void operator()(std::int64_t i) const { c[i] = a[i] * b[i]; }
};

// y[n, c, p] = bias[c] for y of shape [N, C, plane]: the starting value of a product that adds into it.
struct broadcast_channels {
  float* y;
  const float* bias;
  std::int64_t channels, plane;
  FERGEN_HD void operator()(std::int64_t i) const { y[i] = bias[(i / plane) % channels]; }
};

// y[n, c, p] += bias[c].
struct add_channels {
  float* y;
  const float* bias;
  std::int64_t channels, plane;
  FERGEN_HD void operator()(std::int64_t i) const { y[i] += bias[(i / plane) % channels]; }
};

template <class F>
struct activation_forward {  // y = f(x)
  const float* x;
  float* y;
  F f;
  FERGEN_HD void operator()(std::int64_t i) const { y[i] = f.value(x[i]); }
};

template <class F>
struct activation_backward {  // dx = dy * f'(x, y)
  const float* x;
  const float* y;
  const float* dy;
  float* dx;
  F f;
  FERGEN_HD void operator()(std::int64_t i) const { dx[i] = dy[i] * f.derivative(x[i], y[i]); }
};

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
