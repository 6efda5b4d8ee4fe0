// tests/support/errors.hpp: looking at the message a failing call throws.
#pragma once

#include <fergen/core/error.hpp>

#include <string>
#include <string_view>

namespace fergen::testing {

// The message of the fergen::error that f() throws, or a marker when it throws none, so a CHECK on the
// message also fails when nothing was thrown.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const fergen::error& e) {
    return e.what();
  }
  return "<no fergen::error thrown>";
}

inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace fergen::testing
