// fergen/nn/sequential.hpp: layers applied one after another, as one flat type.
#pragma once

#include <fergen/nn/inference_fusion.hpp>
#include <fergen/nn/layer.hpp>
#include <fergen/nn/named.hpp>
#include <fergen/nn/slots.hpp>

#include <concepts>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// sequential<L0, L1, ...>: y = L_{n-1}(... L1(L0(x))). Children are named "0", "1", ... unless named<>,
// as in torch.nn.Sequential (a parameterless ReLU still takes its index).
//   sequential net{conv2d<B>(3, 64, {.kernel = 3, .padding = 1}), relu<B>{}, max_pool2d<B>({.kernel = 2})};
template <class... Ls>
class sequential {
  static_assert(sizeof...(Ls) > 0, "sequential<>: give it at least one layer");
  static_assert((check_layer<Ls>() && ...), "sequential<...>: every slot must be a fergen layer (see above)");

 public:
  using backend = typename detail::first_of<Ls...>::type::backend;
  static_assert((std::same_as<typename Ls::backend, backend> && ...),
                "sequential<...>: all layers must run on the same backend");
  static constexpr std::size_t size = sizeof...(Ls);

  sequential()
    requires(std::default_initializable<Ls> && ...)
  = default;
  explicit sequential(Ls... layers) : slots_(std::move(layers)...) {}

  template <std::size_t I>
  auto& get() {
    return detail::slot_get<I>(slots_);
  }
  template <std::size_t I>
  const auto& get() const {
    return detail::slot_get<I>(slots_);
  }

  shape output_shape(shape x) const {
    detail::for_each_index<size>([&]<std::size_t I>() {
      x = in_child(name_of<I>, [&] { return get<I>().output_shape(x); });
    });
    return x;
  }

  // In inference a convolution and the BatchNorm and ReLU after it run as one op (nn/inference_fusion.hpp).
  tensor<backend> forward(context<backend>& ctx, const tensor<backend>& x) {
    fused_ = false;
    tensor<backend> y = x;
    std::size_t next = 0;  // the first slot a fused op has not covered
    detail::for_each_index<size>([&]<std::size_t I>() {
      if (I < next) return;
      using run = fused_run<I, Ls...>;
      if constexpr (run::length > 0) {
        if (forward_fused<I, run>(ctx, y)) {
          next = I + run::length;
          return;
        }
      }
      y = in_child(name_of<I>, [&] { return get<I>().forward(ctx, y); });
    });
    return y;
  }

  tensor<backend> backward(context<backend>& ctx, const tensor<backend>& dy) {
    // A fused forward skipped the layers' own forwards, so they may still hold an older recorded one.
    require(!fused_, "sequential: backward without a recorded forward (run forward with ctx.record)");
    tensor<backend> d = dy;
    detail::for_each_index_reversed<size>([&]<std::size_t I>() {
      d = in_child(name_of<I>, [&] { return get<I>().backward(ctx, d); });
    });
    return d;
  }

  template <class V>
  void visit_parameters(V&& visit) {
    detail::for_each_index<size>([&]<std::size_t I>() {
      auto inner = prefixed(name_of<I>(), visit);
      get<I>().visit_parameters(inner);
    });
  }

 private:
  using slots_type = detail::slots_for<Ls...>;

  // Layers I .. I + Run::length - 1 as one op; false, with nothing run, where this forward may not fuse.
  template <std::size_t I, class Run>
  bool forward_fused(context<backend>& ctx, tensor<backend>& y) {
    if (!fuses(ctx)) return false;
    ops::conv2d_epilogue<backend> after{.relu = Run::clamps};
    std::optional<ops::running_normalization<backend>> normalization;
    if constexpr (Run::normalizes) {
      normalization = get<I + 1>().running_normalization();
      if (!normalization) return false;  // batch statistics even in evaluation
      // The checks the BatchNorm's own forward would make, under its name.
      const shape conv_out = in_child(name_of<I>, [&] { return get<I>().output_shape(y.shape()); });
      in_child(name_of<I + 1>, [&] { return get<I + 1>().output_shape(conv_out); });
      after.normalization = &*normalization;
    }
    y = in_child(name_of<I>, [&] { return get<I>().forward_fused(ctx, y, after); });
    fused_ = true;
    return true;
  }

  template <std::size_t I>
  static std::string name_of() {
    return child_name<detail::slot_type<I, slots_type>>(I);
  }

  slots_type slots_;
  bool fused_ = false;  // the last forward ran fused ops
};

template <class... Ls>
sequential(Ls...) -> sequential<Ls...>;

}  // namespace nn
FERGEN_END_NAMESPACE
