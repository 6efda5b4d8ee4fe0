// fergen/nn/max_pool2d.hpp: the max-pooling layer (torch.nn.MaxPool2d, dilation 1).
#pragma once

#include <fergen/backend/cpu/pooling.hpp>
#include <fergen/backend/pooling.hpp>
#include <fergen/nn/layer.hpp>

#include <optional>
#include <string>
#include <utility>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// torch.nn.MaxPool2d's arguments: the stride defaults to the kernel size, padding is at most kernel / 2,
// ceil_mode rounds the output size up (keeping the last window inside the input or its left padding).
struct pool2d_options {
  size2 kernel = 1;
  std::optional<size2> stride = std::nullopt;  // default: the kernel size, as in PyTorch
  size2 padding = 0;
  bool ceil_mode = false;
};

// The window geometry both pooling layers share.
inline ops::pool2d_geometry pool_geometry(const pool2d_options& o) {
  const size2 stride = o.stride.value_or(o.kernel);
  return {o.kernel.h, o.kernel.w, stride.h, stride.w, o.padding.h, o.padding.w, o.ceil_mode};
}

// y = the maximum of each window; padding never wins. Backward sends each gradient to the element that
// won in forward (the first maximum in scan order on ties, as PyTorch), recorded when ctx.record.
template <class B>
class max_pool2d {
 public:
  using backend = B;
  using tensor_type = tensor<B>;
  using op = ops::max_pool2d<B>;

  explicit max_pool2d(pool2d_options options) : geometry_(pool_geometry(options)) { geometry_.validate("max_pool2d"); }

  shape output_shape(const shape& x) const { return geometry_.output(x, "max_pool2d"); }

  tensor_type forward(context<B>& ctx, const tensor_type& x) {
    saved_.reset();
    if (!ctx.record) return op::forward(ctx, x, geometry_, nullptr);
    typename op::indices_type indices;
    tensor_type y = op::forward(ctx, x, geometry_, &indices);
    saved_ = saved{x.shape(), std::move(indices)};
    return y;
  }

  tensor_type backward(context<B>& ctx, const tensor_type& dy) {
    require(saved_.has_value(), describe(), ": backward without a recorded forward (run forward with ctx.record)");
    tensor_type dx = op::backward(ctx, dy, saved_->indices, saved_->input, geometry_);
    saved_.reset();
    return dx;
  }

  template <class V>
  void visit_parameters(V&&) {}

  const ops::pool2d_geometry& geometry() const { return geometry_; }
  std::string describe() const { return geometry_.describe("max_pool2d"); }

 private:
  struct saved {
    shape input;
    typename op::indices_type indices;
  };
  ops::pool2d_geometry geometry_;
  std::optional<saved> saved_;
};

}  // namespace nn
FERGEN_END_NAMESPACE
