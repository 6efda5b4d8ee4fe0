// fergen/backend/cuda/kernels/channel_affine.cuh: a fixed linear map across channels plus a shift at every pixel
// (the backbones' gray input path: ImageNet's normalisation folded into the first convolution).
#pragma once

#include <fergen/backend/channel_affine.hpp>
#include <fergen/backend/cuda/kernels/launch.cuh>

#include <cstddef>
#include <cstdint>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_kernels {

// One thread per output element: out = shift[j], then += m[j][c] x[c] for c in order, in float, the CPU's
// sequence of operations. coefficients: the J x C matrix row-major, then the J shifts, as floats.
struct channel_affine_apply {
  const float* x;
  float* y;
  const float* coefficients;
  std::int64_t outputs, inputs, plane;
  FERGEN_HD void operator()(std::int64_t i) const {
    const std::int64_t p = i % plane, nj = i / plane, j = nj % outputs, n = nj / outputs;
    const float* row = coefficients + j * inputs;
    const float* in = x + n * inputs * plane + p;
    float acc = coefficients[outputs * inputs + j];
    for (std::int64_t c = 0; c < inputs; ++c) acc += row[c] * in[c * plane];
    y[i] = acc;
  }
};

// Over an engine (kernels/engine.cuh): the map's coefficients, cast to float as the CPU casts them, are uploaded
// (a few dozen values), then every output element is computed. x is [n, map.inputs, plane].
template <class Engine>
void channel_affine_forward(Engine& e, const float* x, std::int64_t n, std::int64_t plane, const channel_map& map,
                            float* y) {
  const std::int64_t count = n * map.outputs * plane;
  if (count == 0) return;
  std::vector<float> coefficients(static_cast<std::size_t>(map.outputs * (map.inputs + 1)), 0.0f);
  for (std::size_t k = 0; k < map.matrix.size(); ++k) coefficients[k] = static_cast<float>(map.matrix[k]);
  for (std::size_t j = 0; j < map.shift.size(); ++j) coefficients[map.matrix.size() + j] = static_cast<float>(map.shift[j]);
  const std::size_t bytes = coefficients.size() * sizeof(float);
  const auto device_coefficients = e.allocate(bytes, "channel_affine coefficients");
  e.upload(device_coefficients.get(), coefficients.data(), bytes);
  e.for_each(count,
             channel_affine_apply{x, y, static_cast<const float*>(device_coefficients.get()), map.outputs, map.inputs,
                                  plane},
             "channel_affine");
}

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
