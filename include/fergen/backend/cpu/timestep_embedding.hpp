// fergen/backend/cpu/timestep_embedding.hpp: the sinusoidal timestep embedding on the CPU.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/backend/timestep_embedding.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <real T>
struct timestep_embedding<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;

  static tensor_type forward(context<cpu<T>>&, std::span<const double> timesteps,
                             const timestep_embedding_geometry& g) {
    g.validate();
    for (std::size_t n = 0; n < timesteps.size(); ++n)
      require(std::isfinite(timesteps[n]), "timestep_embedding: timestep ", timesteps[n], " at position ", n,
              " is not finite");
    const auto count = static_cast<std::int64_t>(timesteps.size());
    tensor_type y = tensor_type::uninitialized({count, g.dim, 1, 1});
    T* out = y.data();
    for (std::int64_t n = 0; n < count; ++n) {
      // A sampler's batch shares one timestep: the row is computed once and copied.
      if (n > 0 && timesteps[static_cast<std::size_t>(n)] == timesteps[static_cast<std::size_t>(n - 1)]) {
        std::copy_n(out + (n - 1) * g.dim, g.dim, out + n * g.dim);
        continue;
      }
      for (std::int64_t i = 0; i < g.dim; ++i) out[n * g.dim + i] = static_cast<T>(g.value(timesteps[static_cast<std::size_t>(n)], i));
    }
    return y;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
