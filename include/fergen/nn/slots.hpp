// fergen/nn/slots.hpp: flat storage for the children of a variadic composite (sequential, concat).
#pragma once

#include <fergen/config.hpp>

#include <cstddef>
#include <utility>

FERGEN_BEGIN_NAMESPACE
namespace nn::detail {

// Each child sits in a base class tagged with its index; slot_get<I> finds it by overload resolution. The
// type stays flat (no nested tuples or recursive templates): short error messages and fast compiles.
template <std::size_t I, class L>
struct slot {
  L layer;
};

template <class Indices, class... Ls>
struct slot_pack;

template <std::size_t... Is, class... Ls>
struct slot_pack<std::index_sequence<Is...>, Ls...> : slot<Is, Ls>... {
  slot_pack() = default;
  explicit slot_pack(Ls... layers) : slot<Is, Ls>{std::move(layers)}... {}
};

template <class... Ls>
using slots_for = slot_pack<std::index_sequence_for<Ls...>, Ls...>;

template <std::size_t I, class L>
L& slot_get(slot<I, L>& s) {
  return s.layer;
}
template <std::size_t I, class L>
const L& slot_get(const slot<I, L>& s) {
  return s.layer;
}

// The type of child I of a slot pack.
template <std::size_t I, class Pack>
using slot_type = std::remove_cvref_t<decltype(slot_get<I>(std::declval<Pack&>()))>;

template <class First, class...>
struct first_of {
  using type = First;
};

// f.template operator()<I>() for I = 0 .. N-1, or N-1 .. 0.
template <std::size_t N, class F>
void for_each_index(F&& f) {
  [&]<std::size_t... Is>(std::index_sequence<Is...>) { (f.template operator()<Is>(), ...); }
  (std::make_index_sequence<N>{});
}
template <std::size_t N, class F>
void for_each_index_reversed(F&& f) {
  [&]<std::size_t... Is>(std::index_sequence<Is...>) { (f.template operator()<N - 1 - Is>(), ...); }
  (std::make_index_sequence<N>{});
}

}  // namespace nn::detail
FERGEN_END_NAMESPACE
