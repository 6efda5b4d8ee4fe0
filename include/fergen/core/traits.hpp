// fergen/core/traits.hpp: small type utilities shared by every layer of the code.
#pragma once

#include <fergen/config.hpp>

#include <concepts>
#include <cstddef>
#include <type_traits>

FERGEN_BEGIN_NAMESPACE

// For static_asserts in primary templates that must fire only when instantiated.
template <class...>
inline constexpr bool always_false = false;

// The element types the backends compute in.
template <class T>
concept real = std::same_as<T, float> || std::same_as<T, double>;

// A string usable as a template argument: named<"conv1", L>.
template <std::size_t N>
struct fixed_string {
  char chars[N]{};
  constexpr fixed_string(const char (&text)[N]) {
    for (std::size_t i = 0; i < N; ++i) chars[i] = text[i];
  }
  constexpr std::size_t length() const { return N - 1; }
  constexpr const char* c_str() const { return chars; }
};

FERGEN_END_NAMESPACE
