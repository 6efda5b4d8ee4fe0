// fergen/nn/concat.hpp: branches that see the same input, their outputs stacked along channels.
#pragma once

#include <fergen/backend/arithmetic.hpp>
#include <fergen/backend/cpu/arithmetic.hpp>
#include <fergen/nn/layer.hpp>
#include <fergen/nn/named.hpp>
#include <fergen/nn/slots.hpp>

#include <concepts>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// concat<B0, B1, ...>: y = [B0(x), B1(x), ...] along channels (Inception modules, UNet skip joins).
// Branches must agree on batch, height and width. Children are named "0", "1", ... unless named<>.
template <class... Branches>
class concat {
  static_assert(sizeof...(Branches) > 0, "concat<>: give it at least one branch");
  static_assert((check_layer<Branches>() && ...), "concat<...>: every branch must be a fergen layer (see above)");

 public:
  using backend = typename detail::first_of<Branches...>::type::backend;
  static_assert((std::same_as<typename Branches::backend, backend> && ...),
                "concat<...>: all branches must run on the same backend");
  static constexpr std::size_t size = sizeof...(Branches);

  concat()
    requires(std::default_initializable<Branches> && ...)
  = default;
  explicit concat(Branches... branches) : slots_(std::move(branches)...) {}

  template <std::size_t I>
  auto& get() {
    return detail::slot_get<I>(slots_);
  }

  shape output_shape(const shape& x) const {
    shape y{};
    detail::for_each_index<size>([&]<std::size_t I>() {
      const shape b = in_child(name_of<I>, [&] { return detail::slot_get<I>(slots_).output_shape(x); });
      if constexpr (I == 0) {
        y = b;
      } else {
        require(b.n == y.n && b.h == y.h && b.w == y.w, "concat: branch ", name_of<I>(), " gives ", b,
                ", which cannot stack onto ", y, " (batch, height and width must agree) for input ", x);
        y.c += b.c;
      }
    });
    return y;
  }

  tensor<backend> forward(context<backend>& ctx, const tensor<backend>& x) {
    std::vector<tensor<backend>> outputs;
    outputs.reserve(size);
    detail::for_each_index<size>([&]<std::size_t I>() {
      outputs.push_back(in_child(name_of<I>, [&] { return get<I>().forward(ctx, x); }));
    });
    channels_.clear();
    for (const auto& o : outputs) channels_.push_back(o.shape().c);
    return ops::arithmetic<backend>::concat_channels(ctx, outputs);
  }

  tensor<backend> backward(context<backend>& ctx, const tensor<backend>& dy) {
    require(channels_.size() == size, "concat: backward without a forward");
    const std::vector<tensor<backend>> parts = ops::arithmetic<backend>::split_channels(ctx, dy, channels_);
    tensor<backend> dx;
    detail::for_each_index<size>([&]<std::size_t I>() {
      tensor<backend> d = in_child(name_of<I>, [&] { return get<I>().backward(ctx, parts[I]); });
      if constexpr (I == 0) {
        dx = std::move(d);
      } else {
        dx = ops::arithmetic<backend>::add(ctx, dx, d);
      }
    });
    return dx;
  }

  template <class V>
  void visit_parameters(V&& visit) {
    detail::for_each_index<size>([&]<std::size_t I>() {
      auto inner = prefixed(name_of<I>(), visit);
      get<I>().visit_parameters(inner);
    });
  }

 private:
  using slots_type = detail::slots_for<Branches...>;

  template <std::size_t I>
  static std::string name_of() {
    return child_name<detail::slot_type<I, slots_type>>(I);
  }

  slots_type slots_;
  std::vector<std::int64_t> channels_;  // of each branch's output in the last forward
};

template <class... Branches>
concat(Branches...) -> concat<Branches...>;

}  // namespace nn
FERGEN_END_NAMESPACE
