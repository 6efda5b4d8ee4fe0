// fergen/backend/conv2d_fused.hpp: a convolution and what follows it in inference (a BatchNorm with its running
// statistics, a ReLU, or both) as one op.
//
// Why: in evaluation a BatchNorm is a fixed affine map per channel and a ReLU a clamp, each a whole pass over the
// convolution's output into a new tensor. Applied while the convolution's output is still in registers or cache (a
// oneDNN post-op, or the rows a gemm task has just written) they cost next to nothing: in ResNet-50's inference the
// two passes were a tenth of the time. nn::sequential calls this op where a convolution is followed by those layers
// and the context neither trains nor records (nn/inference_fusion.hpp).
#pragma once

#include <fergen/backend/activations.hpp>
#include <fergen/backend/backend.hpp>
#include <fergen/backend/batch_norm.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/conv2d.hpp>
#include <fergen/core/tensor.hpp>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// The inference BatchNorm after a convolution, as batch_norm<Backend>::forward_inference takes it: a null weight
// means 1, a null bias 0 (affine = false).
template <class Backend>
struct running_normalization {
  const tensor<Backend>* weight = nullptr;
  const tensor<Backend>* bias = nullptr;
  const tensor<Backend>* mean = nullptr;
  const tensor<Backend>* var = nullptr;
  double eps = 1e-5;
};

// What follows the convolution: a normalisation (or none), then a ReLU (or none).
template <class Backend>
struct conv2d_epilogue {
  const running_normalization<Backend>* normalization = nullptr;
  bool relu = false;
};

// conv2d_fused<Backend> provides
//   forward(ctx, x, weight, bias_or_null, geometry, epilogue) -> y
// equal to conv2d's forward, then batch_norm's forward_inference, then relu's forward, to rounding (the CPU's paths
// compute the same float operations in the same order, and give the same bits). This primary template runs exactly
// those three ops, so a backend without a fused kernel (CUDA) still computes the fused op; the CPU specialises it
// (backend/cpu/conv2d_fused.hpp).
template <class Backend>
struct conv2d_fused {
  static tensor<Backend> forward(context<Backend>& ctx, const tensor<Backend>& x, const tensor<Backend>& weight,
                                 const tensor<Backend>* bias, const conv2d_geometry& g,
                                 const conv2d_epilogue<Backend>& e) {
    tensor<Backend> y = conv2d<Backend>::forward(ctx, x, weight, bias, g);
    if (const auto* n = e.normalization)
      y = batch_norm<Backend>::forward_inference(ctx, y, n->weight, n->bias, *n->mean, *n->var, n->eps).y;
    if (e.relu) y = activation<Backend>::forward(ctx, y, relu_function{});
    return y;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
