// fergen/backend/embedding.hpp: looking up rows of a table by integer index (torch.nn.Embedding).
#pragma once

#include <fergen/backend/backend.hpp>
#include <fergen/core/error.hpp>

#include <cstdint>
#include <span>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// Every index must address a row of a table of `rows` rows; the message names the position and the value.
inline void check_embedding_indices(std::span<const std::int64_t> indices, std::int64_t rows, const char* what) {
  for (std::size_t i = 0; i < indices.size(); ++i)
    require(indices[i] >= 0 && indices[i] < rows, what, ": index ", indices[i], " at position ", i,
            " is outside the table's rows [0, ", rows, ")");
}

// embedding<Backend> provides, for a table weight [V, D] (stored [V, D, 1, 1]) and N host indices in [0, V):
//   forward(ctx, weight, indices) -> y [N, D, 1, 1]           y[n] = weight[indices[n]]
//   backward(ctx, dy, indices, dweight)                       dweight[indices[n]] += dy[n] (accumulates)
// Indices come from the host (class labels are host data); a device backend uploads them.
template <class Backend>
struct embedding {
  static_assert(always_false<Backend>, "embedding: no kernel for this backend; CUDA needs nvcc and FERGEN_WITH_CUDA");
};

}  // namespace ops
FERGEN_END_NAMESPACE
