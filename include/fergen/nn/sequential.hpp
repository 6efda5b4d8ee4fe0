// fergen/nn/sequential.hpp: layers applied one after another, as one flat type.
#pragma once

#include <fergen/nn/layer.hpp>
#include <fergen/nn/named.hpp>
#include <fergen/nn/slots.hpp>

#include <concepts>
#include <cstddef>
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

  tensor<backend> forward(context<backend>& ctx, const tensor<backend>& x) {
    tensor<backend> y = x;
    detail::for_each_index<size>([&]<std::size_t I>() {
      y = in_child(name_of<I>, [&] { return get<I>().forward(ctx, y); });
    });
    return y;
  }

  tensor<backend> backward(context<backend>& ctx, const tensor<backend>& dy) {
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

  template <std::size_t I>
  static std::string name_of() {
    return child_name<detail::slot_type<I, slots_type>>(I);
  }

  slots_type slots_;
};

template <class... Ls>
sequential(Ls...) -> sequential<Ls...>;

}  // namespace nn
FERGEN_END_NAMESPACE
