// fergen/nn/flatten.hpp: [N, C, H, W] -> [N, C*H*W, 1, 1], between a feature map and a linear layer.
#pragma once

#include <fergen/nn/layer.hpp>

#include <optional>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// torch.flatten(x, 1): the C*H*W values of a sample keep their order (channel-major).
template <class B>
class flatten {
 public:
  using backend = B;

  shape output_shape(const shape& x) const { return {x.n, x.per_sample(), 1, 1}; }

  tensor<B> forward(context<B>& ctx, const tensor<B>& x) {
    input_shape_ = ctx.record ? std::optional<shape>(x.shape()) : std::nullopt;
    if (x.shape() == output_shape(x.shape())) return x;
    return x.reshaped(output_shape(x.shape()));
  }

  tensor<B> backward(context<B>&, const tensor<B>& dy) {
    require(input_shape_.has_value(), "flatten: backward without a recorded forward");
    const shape in = *input_shape_;
    input_shape_.reset();
    require(dy.shape() == output_shape(in), "flatten: gradient ", dy.shape(), " does not match ", output_shape(in));
    if (dy.shape() == in) return dy;
    return dy.reshaped(in);
  }

  template <class V>
  void visit_parameters(V&&) {}

 private:
  std::optional<shape> input_shape_;
};

}  // namespace nn
FERGEN_END_NAMESPACE
