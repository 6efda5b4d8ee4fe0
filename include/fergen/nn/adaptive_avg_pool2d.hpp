// fergen/nn/adaptive_avg_pool2d.hpp: average pooling to a fixed output size (torch.nn.AdaptiveAvgPool2d).
#pragma once

#include <fergen/backend/cpu/pooling.hpp>
#include <fergen/backend/pooling.hpp>
#include <fergen/nn/layer.hpp>

#include <optional>
#include <string>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// Output cell (i, j) is the mean of input rows [floor(i H / oh), ceil((i + 1) H / oh)) and the matching
// columns. Any input size works: VGG's (7, 7) head replicates a 5x5 map, and (1, 1) is the global average
// of ResNet and Inception. Only the input shape is kept for backward.
template <class B>
class adaptive_avg_pool2d {
 public:
  using backend = B;
  using tensor_type = tensor<B>;
  using op = ops::adaptive_avg_pool2d<B>;

  explicit adaptive_avg_pool2d(size2 output) : output_(output) {
    require(output.h > 0 && output.w > 0, describe(), ": output size must be positive");
  }

  shape output_shape(const shape& x) const { return ops::adaptive_output(x, output_.h, output_.w); }

  tensor_type forward(context<B>& ctx, const tensor_type& x) {
    input_.reset();
    tensor_type y = op::forward(ctx, x, output_.h, output_.w);
    if (ctx.record) input_ = x.shape();
    return y;
  }

  tensor_type backward(context<B>& ctx, const tensor_type& dy) {
    require(input_.has_value(), describe(), ": backward without a recorded forward (run forward with ctx.record)");
    require(dy.shape().h == output_.h && dy.shape().w == output_.w, describe(), " backward: gradient ", dy.shape(),
            " does not match the output ", ops::adaptive_output(*input_, output_.h, output_.w), " of input ", *input_);
    tensor_type dx = op::backward(ctx, dy, *input_);
    input_.reset();
    return dx;
  }

  template <class V>
  void visit_parameters(V&&) {}

  size2 output_size() const { return output_; }
  std::string describe() const { return str("adaptive_avg_pool2d(", output_.h, "x", output_.w, ")"); }

 private:
  size2 output_;
  std::optional<shape> input_;
};

}  // namespace nn
FERGEN_END_NAMESPACE
