// fergen/backend/timestep_embedding.hpp: the sinusoidal embedding of diffusion timesteps.
#pragma once

#include <fergen/backend/backend.hpp>
#include <fergen/config.hpp>
#include <fergen/core/error.hpp>

#include <cmath>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// The transformer's position encoding applied to a timestep t (Ho et al. 2020, as guided-diffusion and
// diffusers' UNet2DModel write it): with half = dim / 2 and frequency_k = max_period^(-k / half),
//   e[k] = cos(t * frequency_k),  e[half + k] = sin(t * frequency_k),  k = 0 .. half - 1
// and a zero last element when dim is odd. Computed in double on every backend (FERGEN_HD), so the
// embedding of a timestep is the same bits on the CPU and the GPU before the cast to T.
struct timestep_embedding_geometry {
  std::int64_t dim = 0;
  double max_period = 10000.0;

  void validate() const {
    require(dim >= 2, "timestep_embedding: dimension ", dim, " must be at least 2");
    require(std::isfinite(max_period) && max_period > 1, "timestep_embedding: max_period ", max_period,
            " must be a finite value > 1");
  }

  FERGEN_HD double value(double t, std::int64_t i) const {
    const std::int64_t half = dim / 2;
    if (i >= 2 * half) return 0.0;
    const std::int64_t k = i < half ? i : i - half;
    const double frequency = std::exp(-std::log(max_period) * static_cast<double>(k) / static_cast<double>(half));
    return i < half ? std::cos(t * frequency) : std::sin(t * frequency);
  }
};

// timestep_embedding<Backend> provides:
//   forward(ctx, timesteps (N host values), geometry) -> [N, dim, 1, 1]
// No backward: timesteps are data, not parameters.
template <class Backend>
struct timestep_embedding {
  static_assert(always_false<Backend>,
                "timestep_embedding: no kernel for this backend; CUDA needs nvcc and FERGEN_WITH_CUDA");
};

}  // namespace ops
FERGEN_END_NAMESPACE
