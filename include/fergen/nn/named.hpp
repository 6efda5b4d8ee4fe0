// fergen/nn/named.hpp: giving a slot of a composite a name of its own.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/traits.hpp>

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// Composites name their children by position ("0", "1", ... as torch.nn.Sequential does). named<"conv1",
// L> is L under the name "conv1"; named<"", L> puts L's parameters directly in the parent's namespace,
// as torchvision's Bottleneck holds conv1, bn1, ... beside its downsample.
template <fixed_string Name, class L>
struct named : L {
  using L::L;
  named(L layer) : L(std::move(layer)) {}  // NOLINT(google-explicit-constructor): wraps like a name tag
  static constexpr std::string_view name{Name.c_str(), Name.length()};
};

// with_name<"conv1">(conv2d<B>(...)) spells the same without repeating the layer type.
template <fixed_string Name, class L>
named<Name, std::remove_cvref_t<L>> with_name(L&& layer) {
  return named<Name, std::remove_cvref_t<L>>(std::forward<L>(layer));
}

template <class L>
struct is_named : std::false_type {};
template <fixed_string Name, class L>
struct is_named<named<Name, L>> : std::true_type {};

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

}  // namespace nn
FERGEN_END_NAMESPACE
