// fergen/nn/avg_pool2d.hpp: the average-pooling layer (torch.nn.AvgPool2d without divisor_override).
#pragma once

#include <fergen/backend/cpu/pooling.hpp>
#include <fergen/backend/pooling.hpp>
#include <fergen/nn/layer.hpp>

#include <optional>
#include <string>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// torch.nn.AvgPool2d's arguments. count_include_pad (PyTorch's default, and what torchvision's Inception
// uses) divides by the window clipped to the padded input; otherwise by the input elements it covers.
struct avg_pool2d_options {
  size2 kernel = 1;
  std::optional<size2> stride = std::nullopt;  // default: the kernel size
  size2 padding = 0;            // at most kernel / 2
  bool ceil_mode = false;
  bool count_include_pad = true;
};

// y = the mean of each window. Backward spreads each gradient evenly over the window's input elements
// with the same divisor. Only the input shape is kept for backward.
template <class B>
class avg_pool2d {
 public:
  using backend = B;
  using tensor_type = tensor<B>;
  using op = ops::avg_pool2d<B>;

  explicit avg_pool2d(avg_pool2d_options options)
      : geometry_{options.kernel.h,
                  options.kernel.w,
                  options.stride.value_or(options.kernel).h,
                  options.stride.value_or(options.kernel).w,
                  options.padding.h,
                  options.padding.w,
                  options.ceil_mode},
        count_include_pad_(options.count_include_pad) {
    geometry_.validate("avg_pool2d");
  }

  shape output_shape(const shape& x) const { return geometry_.output(x, "avg_pool2d"); }

  tensor_type forward(context<B>& ctx, const tensor_type& x) {
    input_.reset();
    tensor_type y = op::forward(ctx, x, geometry_, count_include_pad_);
    if (ctx.record) input_ = x.shape();
    return y;
  }

  tensor_type backward(context<B>& ctx, const tensor_type& dy) {
    require(input_.has_value(), describe(), ": backward without a recorded forward (run forward with ctx.record)");
    tensor_type dx = op::backward(ctx, dy, *input_, geometry_, count_include_pad_);
    input_.reset();
    return dx;
  }

  template <class V>
  void visit_parameters(V&&) {}

  const ops::pool2d_geometry& geometry() const { return geometry_; }
  bool count_include_pad() const { return count_include_pad_; }
  std::string describe() const { return geometry_.describe("avg_pool2d"); }

 private:
  ops::pool2d_geometry geometry_;
  bool count_include_pad_;
  std::optional<shape> input_;
};

}  // namespace nn
FERGEN_END_NAMESPACE
