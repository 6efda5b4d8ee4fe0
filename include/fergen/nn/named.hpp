// fergen/nn/named.hpp: giving a slot of a composite, or a member of a hand-written network, a name of its own.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/traits.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// Composites name their children by position ("0", "1", ... as torch.nn.Sequential does). named<"conv1",
// L> is L under the name "conv1"; named<"", L> puts L's parameters directly in the parent's namespace,
// as torchvision's Bottleneck holds conv1, bn1, ... beside its downsample.
template <fixed_string Name, class L>
struct named : L {
  using named_layer = L;  // the layer it names; also what marks a named<> (is_named)
  using L::L;
  named() = default;
  named(L layer) : L(std::move(layer)) {}  // NOLINT(google-explicit-constructor): wraps like a name tag
  static constexpr std::string_view name{Name.c_str(), Name.length()};
};

// with_name<"conv1">(conv2d<B>(...)) spells the same without repeating the layer type.
template <fixed_string Name, class L>
named<Name, std::remove_cvref_t<L>> with_name(L&& layer) {
  return named<Name, std::remove_cvref_t<L>>(std::forward<L>(layer));
}

// Whether L is a named<>. Told by its member, not by matching named<Name, L>: nvcc's front end matches no
// partial specialisation on a class-type template argument (and deduces none in a function's parameter), so in
// CUDA builds such a trait said false for every named<> and the composites named their children by position.
template <class L>
struct is_named : std::bool_constant<requires { typename L::named_layer; }> {};

// The name a composite gives the child of type L at position index.
template <class L>
std::string child_name(std::size_t index) {
  if constexpr (is_named<L>::value) {
    return std::string(L::name);
  } else {
    return std::to_string(index);
  }
}

// "prefix.name", or just one of them when the other is empty.
inline std::string join_name(std::string_view prefix, std::string_view name) {
  if (prefix.empty()) return std::string(name);
  if (name.empty()) return std::string(prefix);
  std::string joined;
  joined.reserve(prefix.size() + 1 + name.size());
  joined.append(prefix).append(".").append(name);
  return joined;
}

// Wraps a visitor so that every name it sees starts with prefix.
template <class Visitor>
auto prefixed(std::string prefix, Visitor& visitor) {
  return [prefix = std::move(prefix), &visitor](std::string_view name, auto& item) {
    visitor(std::string_view(join_name(prefix, name)), item);
  };
}

// Runs f(); if it throws a fergen::error, the error learns it happened inside the child that name()
// names, so a failure deep in a network reads "layer1.0.conv2: conv2d: ...". The name is only built on
// failure: forward passes stay free of string work.
template <class NameFn, class F>
decltype(auto) in_child(NameFn&& name, F&& f) {
  try {
    return f();
  } catch (error& e) {
    e.add_context(name());
    throw;
  }
}

// --- Networks written by hand --------------------------------------------------------------------------
// A network whose forward is not a composite's (the UNet and its blocks, self-attention, the toy MLP) holds
// each child as a member whose type carries the name: named<"time_embed.0", linear<B>>, or
// named_list<"input_blocks", Block> for a run-time number of them. forward and backward reach a child
// through within(), visit_parameters through visit_children(), so each name is written once and checkpoint
// keys and error paths cannot drift apart.

// A run-time number of children of one type under one name: element i is "name.i" (guided-diffusion's
// input_blocks.3), or "i" under the empty name (torch.nn.Sequential's positions).
template <fixed_string Name, class L>
struct named_list : std::vector<L> {
  using named_element = L;  // marks a named_list<> (is_named_list)
  using std::vector<L>::vector;
  static constexpr std::string_view name{Name.c_str(), Name.length()};
  static std::string element_name(std::size_t i) { return join_name(name, std::to_string(i)); }
};

template <class L>
struct is_named_list : std::bool_constant<requires { typename L::named_element; }> {};

// Runs f(child) for a named<> child; a fergen::error it throws names the child.
template <class Child, class F>
  requires is_named<std::remove_const_t<Child>>::value
decltype(auto) within(Child& child, F&& f) {
  return in_child([] { return std::string(Child::name); }, [&]() -> decltype(auto) { return f(child); });
}

// Runs f(list[i]) for element i of a named_list; a fergen::error it throws names the element.
template <class List, class F>
decltype(auto) within(List& list, std::size_t i, F&& f) {
  return in_child([i] { return List::element_name(i); }, [&]() -> decltype(auto) { return f(list[i]); });
}

// Builds a named<> child from its layer's constructor arguments; an error the constructor throws (a bad
// group count, say) names the child.
template <class Child, class... Args>
Child make_named(Args&&... args) {
  return in_child([] { return std::string(Child::name); }, [&] { return Child(std::forward<Args>(args)...); });
}

namespace detail {
template <class L, class V>
void visit_layer(L& layer, V& visit) {
  layer.visit_parameters(visit);
}
// A child that may be one of several layer types visits the one it holds.
template <class... Ls, class V>
void visit_layer(std::variant<Ls...>& layer, V& visit) {
  std::visit([&](auto& l) { l.visit_parameters(visit); }, layer);
}

// The overloads match by trait rather than by deducing named<Name, L> (see is_named).
template <class V, class Child>
  requires is_named<Child>::value
void visit_child(V& visit, Child& child) {
  auto inner = prefixed(std::string(Child::name), visit);
  visit_layer(static_cast<typename Child::named_layer&>(child), inner);
}
template <class V, class List>
  requires is_named_list<List>::value
void visit_child(V& visit, List& list) {
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto inner = prefixed(list.element_name(i), visit);
    visit_layer(list[i], inner);
  }
}
// A child that may be absent (built after the configuration is checked, or optional) has no parameters then.
template <class V, class Child>
void visit_child(V& visit, std::optional<Child>& child) {
  if (child) visit_child(visit, *child);
}
}  // namespace detail

// Visits the parameters of each child, in the order given, under the child's name.
template <class V, class... Children>
void visit_children(V& visit, Children&... children) {
  (detail::visit_child(visit, children), ...);
}

}  // namespace nn
FERGEN_END_NAMESPACE
