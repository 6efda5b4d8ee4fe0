// fergen/nn/inference_fusion.hpp: where nn::sequential runs a convolution and the BatchNorm and ReLU after it as one
// op (ops::conv2d_fused) instead of three layers.
//
// When: the context neither trains nor records (inference: nothing is kept for a backward), and the BatchNorm, if
// any, normalises with its running statistics. The result is the three layers' to rounding (the CPU's kernels give
// their bits), the parameters and their names are untouched, and training runs the layers one by one as before.
// Which layers: told by what they offer, not by their types, so that a named<> layer, input_conv2d and any
// convolution a user writes with the same members take part:
//   a convolution  forward_fused(ctx, x, const ops::conv2d_epilogue<B>&) -> tensor<B>
//   a BatchNorm    running_normalization() -> std::optional<ops::running_normalization<B>>
//   a ReLU         function() -> const ops::relu_function&
#pragma once

#include <fergen/backend/activations.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/conv2d_fused.hpp>
#include <fergen/core/tensor.hpp>

#include <concepts>
#include <cstddef>
#include <optional>
#include <type_traits>

FERGEN_BEGIN_NAMESPACE
namespace nn {

template <class L>
concept fusable_convolution =
    requires(L& l, context<typename L::backend>& ctx, const tensor<typename L::backend>& x,
             const ops::conv2d_epilogue<typename L::backend>& e) {
      { l.forward_fused(ctx, x, e) } -> std::same_as<tensor<typename L::backend>>;
    };

template <class L>
concept fusable_normalization = requires(const L& l) {
  { l.running_normalization() } -> std::same_as<std::optional<ops::running_normalization<typename L::backend>>>;
};

template <class L>
concept fusable_relu = requires(const L& l) {
  { l.function() } -> std::same_as<const ops::relu_function&>;
};

// Whether this forward may fuse: inference that keeps nothing for a backward.
template <class B>
bool fuses(const context<B>& ctx) {
  return !ctx.training && !ctx.record;
}

namespace detail {
struct no_layer {};  // past the end of a sequential: fusable as nothing
template <std::size_t I, class... Ls>
struct layer_at {
  using type = no_layer;
};
template <std::size_t I, class L, class... Ls>
struct layer_at<I, L, Ls...> {
  using type = std::conditional_t<I == 0, L, typename layer_at<(I > 0 ? I - 1 : 0), Ls...>::type>;
};
}  // namespace detail

// How many layers from the I-th of Ls one fused op covers: 3 for convolution, BatchNorm, ReLU; 2 for convolution and
// BatchNorm or convolution and ReLU; 0 when the I-th is no convolution or nothing fusable follows it.
template <std::size_t I, class... Ls>
struct fused_run {
 private:
  template <std::size_t J>
  using at = typename detail::layer_at<I + J, Ls...>::type;
  static constexpr std::size_t count() {
    if constexpr (!fusable_convolution<at<0>>) {
      return 0;
    } else if constexpr (fusable_normalization<at<1>>) {
      return fusable_relu<at<2>> ? 3 : 2;
    } else {
      return fusable_relu<at<1>> ? 2 : 0;
    }
  }

 public:
  static constexpr std::size_t length = count();
  static constexpr bool normalizes = length > 0 && fusable_normalization<at<1>>;
  static constexpr bool clamps = length == 3 || (length == 2 && !normalizes);
};

}  // namespace nn
FERGEN_END_NAMESPACE
