// fergen/nn/linear.hpp: the fully connected layer (torch.nn.Linear).
#pragma once

#include <fergen/backend/cpu/linear.hpp>
#include <fergen/backend/linear.hpp>
#include <fergen/nn/layer.hpp>

#include <cmath>
#include <optional>

FERGEN_BEGIN_NAMESPACE
namespace nn {

struct linear_options {
  bool bias = true;
};

// y = x W^T + b on [N, in, 1, 1] (flatten first). Parameters "weight" (out, in) and "bias" (out,),
// initialised as PyTorch does: uniform in +-1/sqrt(in).
template <class B>
class linear {
 public:
  using backend = B;
  using tensor_type = tensor<B>;

  linear(std::int64_t in_features, std::int64_t out_features, linear_options options = {})
      : in_(in_features), out_(out_features) {
    require(in_features > 0 && out_features > 0, "linear: features must be positive, got ", in_features, " -> ",
            out_features);
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    weight_ = parameter<B>({out_features, in_features}, init_rule::uniform(-bound, bound));
    if (options.bias) bias_.emplace(dims{out_features}, init_rule::uniform(-bound, bound));
  }

  shape output_shape(const shape& x) const {
    require(x.c == in_ && x.h == 1 && x.w == 1, describe(), ": input ", x, " is not [N, ", in_,
            ", 1, 1]; flatten a feature map first");
    return {x.n, out_, 1, 1};
  }

  tensor_type forward(context<B>& ctx, const tensor_type& x) {
    output_shape(x.shape());
    tensor_type y = ops::linear<B>::forward(ctx, x, weight_.value, bias_ ? &bias_->value : nullptr);
    input_ = ctx.record ? std::optional<tensor_type>(x) : std::nullopt;
    return y;
  }

  tensor_type backward(context<B>& ctx, const tensor_type& dy) {
    require(input_.has_value(), describe(), ": backward without a recorded forward (run forward with ctx.record)");
    require(dy.shape() == output_shape(input_->shape()), describe(), ": gradient ", dy.shape(), " does not match the output ",
            output_shape(input_->shape()));
    ops::linear<B>::backward_weight(ctx, dy, *input_, weight_.grad_or_null(), bias_ ? bias_->grad_or_null() : nullptr);
    tensor_type dx = ops::linear<B>::backward_data(ctx, dy, weight_.value);
    input_.reset();
    return dx;
  }

  template <class V>
  void visit_parameters(V&& visit) {
    visit("weight", weight_);
    if (bias_) visit("bias", *bias_);
  }

  parameter<B>& weight() { return weight_; }
  parameter<B>* bias() { return bias_ ? &*bias_ : nullptr; }
  std::int64_t in_features() const { return in_; }
  std::int64_t out_features() const { return out_; }
  std::string describe() const { return str("linear(", in_, "->", out_, ")"); }

 private:
  std::int64_t in_;
  std::int64_t out_;
  parameter<B> weight_;
  std::optional<parameter<B>> bias_;
  std::optional<tensor_type> input_;
};

}  // namespace nn
FERGEN_END_NAMESPACE
