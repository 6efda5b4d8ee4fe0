// fergen/diffusion/names.hpp: turning option names into values, with messages that list the known names.
#pragma once

#include <fergen/core/error.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

FERGEN_BEGIN_NAMESPACE
namespace diffusion::detail {

// Every name of a table of (name, value) pairs, comma-separated, in the table's order.
template <class Value, std::size_t N>
std::string known_names(const std::pair<std::string_view, Value> (&table)[N]) {
  std::string known;
  for (const auto& [n, v] : table) known += (known.empty() ? "" : ", ") + std::string(n);
  return known;
}

// The value named `name` in a table of (name, value) pairs; an unknown name is an error naming the option
// (`what`) and listing every known name, so "--schedule cosin" reads "unknown beta schedule 'cosin' (known:
// linear, scaled_linear, cosine, sigmoid, custom)". Aliases are further rows with the same value.
template <class Value, std::size_t N>
Value from_name(std::string_view what, std::string_view name, const std::pair<std::string_view, Value> (&table)[N]) {
  for (const auto& [n, v] : table)
    if (n == name) return v;
  fail("unknown ", what, " '", name, "' (known: ", known_names(table), ")");
}

// The first name of a value in the table (its canonical spelling).
template <class Value, std::size_t N>
std::string_view to_name(const Value& value, const std::pair<std::string_view, Value> (&table)[N]) {
  for (const auto& [n, v] : table)
    if (v == value) return n;
  return "?";
}

}  // namespace diffusion::detail
FERGEN_END_NAMESPACE
