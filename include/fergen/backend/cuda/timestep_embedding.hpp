// fergen/backend/cuda/timestep_embedding.hpp: the sinusoidal timestep embedding on the GPU.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cuda/kernels/engine.cuh>
#include <fergen/backend/cuda/kernels/timestep_embedding.cuh>
#include <fergen/backend/cuda/tensor.hpp>
#include <fergen/backend/timestep_embedding.hpp>

#include <cmath>
#include <cstdint>
#include <span>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <>
struct timestep_embedding<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;

  static tensor_type forward(context<cuda<float>>& ctx, std::span<const double> timesteps,
                             const timestep_embedding_geometry& g) {
    g.validate();
    for (std::size_t n = 0; n < timesteps.size(); ++n)
      require(std::isfinite(timesteps[n]), "timestep_embedding: timestep ", timesteps[n], " at position ", n,
              " is not finite");
    tensor_type y = tensor_type::uninitialized({static_cast<std::int64_t>(timesteps.size()), g.dim, 1, 1});
    cuda_kernels::device_engine e(ctx.resources);
    cuda_kernels::timestep_embedding_forward(e, timesteps, g, y.data());
    return y;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
