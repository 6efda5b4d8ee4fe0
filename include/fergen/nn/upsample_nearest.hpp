// fergen/nn/upsample_nearest.hpp: nearest-neighbour upsampling by an integer factor (the DDPM UNet's x2).
#pragma once

#include <fergen/backend/cpu/upsample.hpp>
#include <fergen/backend/upsample.hpp>
#include <fergen/nn/layer.hpp>

#include <cstdint>
#include <optional>
#include <string>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// torch.nn.Upsample(scale_factor=scale, mode='nearest') for an integer scale >= 1: every pixel becomes a
// scale x scale block; backward sums each block. Only the input shape is kept for backward.
template <class B>
class upsample_nearest {
 public:
  using backend = B;
  using tensor_type = tensor<B>;
  using op = ops::upsample_nearest<B>;

  explicit upsample_nearest(std::int64_t scale) : scale_(scale) { ops::validate_upsample_scale(scale); }

  shape output_shape(const shape& x) const { return ops::upsample_output(x, scale_); }

  tensor_type forward(context<B>& ctx, const tensor_type& x) {
    input_.reset();
    tensor_type y = op::forward(ctx, x, scale_);
    if (ctx.record) input_ = x.shape();
    return y;
  }

  tensor_type backward(context<B>& ctx, const tensor_type& dy) {
    require(input_.has_value(), describe(), ": backward without a recorded forward (run forward with ctx.record)");
    tensor_type dx = op::backward(ctx, dy, *input_, scale_);
    input_.reset();
    return dx;
  }

  template <class V>
  void visit_parameters(V&&) {}

  std::int64_t scale() const { return scale_; }
  std::string describe() const { return str("upsample_nearest(x", scale_, ")"); }

 private:
  std::int64_t scale_;
  std::optional<shape> input_;
};

}  // namespace nn
FERGEN_END_NAMESPACE
