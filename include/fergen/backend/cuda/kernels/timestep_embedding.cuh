// fergen/backend/cuda/kernels/timestep_embedding.cuh: the sinusoidal timestep embedding, one element per thread,
// through the FERGEN_HD formula the CPU uses (timestep_embedding_geometry::value, in double).
#pragma once

#include <fergen/backend/cuda/kernels/launch.cuh>
#include <fergen/backend/timestep_embedding.hpp>

#include <cstdint>
#include <span>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_kernels {

struct timestep_embedding_values {
  const double* timesteps;
  float* y;
  timestep_embedding_geometry geometry;
  FERGEN_HD void operator()(std::int64_t i) const {
    y[i] = static_cast<float>(geometry.value(timesteps[i / geometry.dim], i % geometry.dim));
  }
};

// Over an engine (kernels/engine.cuh): the host timesteps (validated by the caller) are uploaded, then every
// element computed. The CPU copies a row when the timestep repeats; recomputing it gives the same value.
template <class Engine>
void timestep_embedding_forward(Engine& e, std::span<const double> timesteps, const timestep_embedding_geometry& g,
                                float* y) {
  if (timesteps.empty()) return;
  const auto device_timesteps = e.allocate(timesteps.size_bytes(), "timesteps");
  e.upload(device_timesteps.get(), timesteps.data(), timesteps.size_bytes());
  e.for_each(static_cast<std::int64_t>(timesteps.size()) * g.dim,
             timestep_embedding_values{static_cast<const double*>(device_timesteps.get()), y, g},
             "timestep_embedding");
}

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
