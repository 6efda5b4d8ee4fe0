// fergen/nn/identity.hpp: the layer that passes its input through (residual's default shortcut).
#pragma once

#include <fergen/nn/layer.hpp>

FERGEN_BEGIN_NAMESPACE
namespace nn {

template <class B>
struct identity {
  using backend = B;
  shape output_shape(const shape& x) const { return x; }
  tensor<B> forward(context<B>&, const tensor<B>& x) { return x; }
  tensor<B> backward(context<B>&, const tensor<B>& dy) { return dy; }
  template <class V>
  void visit_parameters(V&&) {}
};

}  // namespace nn
FERGEN_END_NAMESPACE
