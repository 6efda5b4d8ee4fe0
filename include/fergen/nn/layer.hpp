// fergen/nn/layer.hpp: the layer contract, as a concept and as readable compile-time diagnostics.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/core/shape.hpp>
#include <fergen/core/tensor.hpp>
#include <fergen/nn/parameter.hpp>

#include <concepts>
#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// A layer L on backend B = L::backend provides
//   shape output_shape(shape) const           throws fergen::error naming the shapes when they do not fit
//   tensor<B> forward(context<B>&, const tensor<B>& x)     keeps what backward needs when ctx.record
//   tensor<B> backward(context<B>&, const tensor<B>& dy)   returns dx, accumulates parameter gradients
//   void visit_parameters(V&& visitor)        visitor(name, parameter<B>&) and visitor(name, buffer<B>&),
//                                             PyTorch's names ("weight", "running_mean"), forward order
// Backward is written by hand for every layer; no tape, no graph. A layer that holds no parameters
// still provides visit_parameters (doing nothing).

namespace detail {
// Stands for any visitor in the concept check.
template <class B>
struct visitor_archetype {
  void operator()(std::string_view, parameter<B>&) const {}
  void operator()(std::string_view, buffer<B>&) const {}
};
}  // namespace detail

template <class L>
concept has_backend = requires { typename L::backend; };

template <class L>
concept has_output_shape = requires(const L& l, shape s) {
  { l.output_shape(s) } -> std::same_as<shape>;
};

template <class L>
concept has_forward = requires(L& l, context<typename L::backend>& ctx, const tensor<typename L::backend>& x) {
  { l.forward(ctx, x) } -> std::same_as<tensor<typename L::backend>>;
};

template <class L>
concept has_backward = requires(L& l, context<typename L::backend>& ctx, const tensor<typename L::backend>& dy) {
  { l.backward(ctx, dy) } -> std::same_as<tensor<typename L::backend>>;
};

template <class L>
concept has_visit_parameters = requires(L& l, detail::visitor_archetype<typename L::backend> v) {
  l.visit_parameters(v);
};

template <class L>
concept layer = has_backend<L> && has_output_shape<L> && has_forward<L> && has_backward<L> &&
                has_visit_parameters<L>;

// Composites call check_layer<L>() once per slot: each missing piece gets its own sentence, instead of a
// page of failed substitutions. Returns true so it can sit in a static_assert or a fold.
template <class L>
consteval bool check_layer() {
  static_assert(has_backend<L>,
                "fergen: a slot type is not a fergen layer: it has no `using backend = ...;` member. A layer "
                "names its backend (fergen::cpu<float>, ...) and provides output_shape, forward, backward "
                "and visit_parameters (see fergen/nn/layer.hpp)");
  if constexpr (has_backend<L>) {
    static_assert(has_output_shape<L>,
                  "fergen: a layer lacks `shape output_shape(shape) const` (see fergen/nn/layer.hpp)");
    static_assert(has_forward<L>,
                  "fergen: a layer lacks `tensor<B> forward(context<B>&, const tensor<B>&)` (see fergen/nn/layer.hpp)");
    static_assert(has_backward<L>,
                  "fergen: a layer lacks `tensor<B> backward(context<B>&, const tensor<B>&)` (see fergen/nn/layer.hpp)");
    static_assert(has_visit_parameters<L>,
                  "fergen: a layer lacks `template <class V> void visit_parameters(V&&)` (see fergen/nn/layer.hpp)");
  }
  return layer<L>;
}

}  // namespace nn
FERGEN_END_NAMESPACE
