// fergen/nn/activation.hpp: pointwise nonlinearity layers (ReLU, SiLU, GELU, sigmoid, tanh).
#pragma once

#include <fergen/backend/activations.hpp>
#include <fergen/backend/cpu/activations.hpp>
#include <fergen/nn/layer.hpp>

#include <optional>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// y = f(x) for one of the functions of backend/activations.hpp. No parameters.
template <class B, class F>
class activation {
 public:
  using backend = B;
  using tensor_type = tensor<B>;

  activation() = default;
  explicit activation(F function) : function_(function) {}

  shape output_shape(const shape& x) const { return x; }

  tensor_type forward(context<B>& ctx, const tensor_type& x) {
    tensor_type y = ops::activation<B>::forward(ctx, x, function_);
    if (ctx.record) {
      saved_ = {x, y};
    } else {
      saved_.reset();
    }
    return y;
  }

  tensor_type backward(context<B>& ctx, const tensor_type& dy) {
    require(saved_.has_value(), F::name, ": backward without a recorded forward (run forward with ctx.record)");
    tensor_type dx = ops::activation<B>::backward(ctx, saved_->input, saved_->output, dy, function_);
    saved_.reset();
    return dx;
  }

  template <class V>
  void visit_parameters(V&&) {}

  const F& function() const { return function_; }

 private:
  struct saved {
    tensor_type input, output;
  };
  F function_{};
  std::optional<saved> saved_;
};

template <class B>
using relu = activation<B, ops::relu_function>;
template <class B>
using sigmoid = activation<B, ops::sigmoid_function>;
template <class B>
using tanh = activation<B, ops::tanh_function>;
template <class B>
using silu = activation<B, ops::silu_function>;
template <class B>
using gelu = activation<B, ops::gelu_function>;  // gelu<B>(ops::gelu_function{.tanh = true}) approximates

}  // namespace nn
FERGEN_END_NAMESPACE
