// fergen/backend/channel_affine.hpp: a fixed linear map across channels plus a shift, at every pixel.
#pragma once

#include <fergen/backend/backend.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/shape.hpp>

#include <cstdint>
#include <span>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// The map's coefficients live on the host: they are a handful of constants (ImageNet's mean and std,
// Inception's transform_input), never learned, and every backend can read them from there.
//   matrix  J x C, row-major: output channel j = sum_c matrix[j * C + c] * input channel c
//   shift   J values added to output channel j (empty: no shift)
struct channel_map {
  std::int64_t outputs = 0;  // J
  std::int64_t inputs = 0;   // C
  std::span<const double> matrix;
  std::span<const double> shift;

  void validate(const shape& x) const {
    require(outputs > 0 && inputs > 0, "channel_affine: the map must have positive sizes, got ", outputs, " x ",
            inputs);
    require(static_cast<std::int64_t>(matrix.size()) == outputs * inputs, "channel_affine: a ", outputs, " x ",
            inputs, " map needs ", outputs * inputs, " coefficients, got ", matrix.size());
    require(shift.empty() || static_cast<std::int64_t>(shift.size()) == outputs, "channel_affine: ", shift.size(),
            " shifts for ", outputs, " output channels");
    require(x.c == inputs, "channel_affine: input ", x, " has ", x.c, " channels, the ", outputs, " x ", inputs,
            " map expects ", inputs);
  }
};

// channel_affine<Backend> provides, for x [N, C, H, W]:
//   forward(ctx, x, map) -> y [N, J, H, W],  y[n, j] = sum_c map.matrix[j][c] * x[n, c] + map.shift[j]
// The map is linear in x, so its backward is the same op with the transposed matrix and no shift.
template <class Backend>
struct channel_affine {
  static_assert(always_false<Backend>,
                "channel_affine: no kernel for this backend; CUDA needs nvcc and FERGEN_WITH_CUDA");
};

}  // namespace ops
FERGEN_END_NAMESPACE
