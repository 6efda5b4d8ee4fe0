// fergen/backend/cpu/embedding.hpp: table lookup on the CPU.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/backend/embedding.hpp>

#include <algorithm>
#include <cstdint>
#include <span>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <real T>
struct embedding<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;
  using context_type = context<cpu<T>>;

  static tensor_type forward(context_type&, const tensor_type& weight, std::span<const std::int64_t> indices) {
    const shape ws = weight.shape();
    check_embedding_indices(indices, ws.n, "embedding");
    const std::int64_t dim = ws.per_sample();
    tensor_type y = tensor_type::uninitialized({static_cast<std::int64_t>(indices.size()), dim, 1, 1});
    for (std::size_t n = 0; n < indices.size(); ++n)
      std::copy_n(weight.data() + indices[n] * dim, dim, y.data() + static_cast<std::int64_t>(n) * dim);
    return y;
  }

  // Serial in sample order: two samples with the same index add into one row, so a fixed order keeps the
  // sum identical for any thread count (the work is N x D additions, negligible).
  static void backward(context_type&, const tensor_type& dy, std::span<const std::int64_t> indices,
                       tensor_type& dweight) {
    const shape ws = dweight.shape();
    const std::int64_t dim = ws.per_sample();
    require(dy.shape() == shape{static_cast<std::int64_t>(indices.size()), dim, 1, 1}, "embedding backward: gradient ",
            dy.shape(), " does not match ", indices.size(), " rows of ", dim, " values");
    check_embedding_indices(indices, ws.n, "embedding backward");
    for (std::size_t n = 0; n < indices.size(); ++n) {
      const T* g = dy.data() + static_cast<std::int64_t>(n) * dim;
      T* row = dweight.data() + indices[n] * dim;
      for (std::int64_t d = 0; d < dim; ++d) row[d] += g[d];
    }
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
