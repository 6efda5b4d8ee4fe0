// fergen/nn/embedding.hpp: a learnable lookup table (torch.nn.Embedding), e.g. class labels -> vectors.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/embedding.hpp>
#include <fergen/backend/embedding.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/tensor.hpp>
#include <fergen/nn/parameter.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// y[n] = weight[indices[n]] as [N, dim, 1, 1]. Its input is a list of integers, not a tensor, so it is not a
// plain layer (nn/layer.hpp): forward(ctx, indices) and backward(ctx, dy), which only accumulates the
// table's gradient (integers have none). Parameter "weight" (rows, dim), drawn from N(0, 1) as PyTorch does.
template <class B>
class embedding {
 public:
  using backend = B;
  using tensor_type = tensor<B>;

  embedding(std::int64_t rows, std::int64_t dim)
      : rows_(rows), dim_(dim) {
    require(rows > 0 && dim > 0, "embedding: rows and dimension must be positive, got ", rows, " x ", dim);
    weight_ = parameter<B>({rows, dim}, init_rule::normal(0, 1));
  }

  shape output_shape(std::int64_t count) const { return {count, dim_, 1, 1}; }

  tensor_type forward(context<B>& ctx, std::span<const std::int64_t> indices) {
    tensor_type y = ops::embedding<B>::forward(ctx, weight_.value, indices);
    if (ctx.record) {
      indices_.emplace(indices.begin(), indices.end());
    } else {
      indices_.reset();
    }
    return y;
  }

  void backward(context<B>& ctx, const tensor_type& dy) {
    require(indices_.has_value(), describe(), ": backward without a recorded forward (run forward with ctx.record)");
    if (tensor_type* g = weight_.grad_or_null()) ops::embedding<B>::backward(ctx, dy, *indices_, *g);
    indices_.reset();
  }

  template <class V>
  void visit_parameters(V&& visit) {
    visit("weight", weight_);
  }

  parameter<B>& weight() { return weight_; }
  std::int64_t rows() const { return rows_; }
  std::int64_t dim() const { return dim_; }
  std::string describe() const { return str("embedding(", rows_, ", ", dim_, ")"); }

 private:
  std::int64_t rows_;
  std::int64_t dim_;
  parameter<B> weight_;
  std::optional<std::vector<std::int64_t>> indices_;
};

}  // namespace nn
FERGEN_END_NAMESPACE
