// fergen/core/shape.hpp: the 4-D NCHW shape every tensor has.
#pragma once

#include <fergen/config.hpp>

#include <cstdint>
#include <ostream>
#include <sstream>
#include <string>

FERGEN_BEGIN_NAMESPACE

// Tensors are always 4-D, batch x channels x height x width; a linear layer sees [N, C, 1, 1].
// Sizes are signed 64-bit so that products and differences (padding arithmetic) never wrap.
struct shape {
  std::int64_t n = 0;
  std::int64_t c = 0;
  std::int64_t h = 0;
  std::int64_t w = 0;

  constexpr std::int64_t size() const { return n * c * h * w; }
  constexpr std::int64_t per_sample() const { return c * h * w; }
  constexpr std::int64_t plane() const { return h * w; }
  constexpr bool valid() const { return n >= 0 && c >= 0 && h >= 0 && w >= 0; }
  friend constexpr bool operator==(const shape&, const shape&) = default;
};

inline std::ostream& operator<<(std::ostream& out, const shape& s) {
  return out << '[' << s.n << ", " << s.c << ", " << s.h << ", " << s.w << ']';
}

inline std::string to_string(const shape& s) {
  std::ostringstream out;
  out << s;
  return out.str();
}

FERGEN_END_NAMESPACE

FERGEN_BEGIN_NAMESPACE

// A height x width pair for kernel sizes, strides and paddings: `3` means 3x3, `{1, 7}` means 1x7.
struct size2 {
  std::int64_t h = 0;
  std::int64_t w = 0;
  constexpr size2() = default;
  constexpr size2(std::int64_t both) : h(both), w(both) {}  // NOLINT(google-explicit-constructor)
  constexpr size2(std::int64_t height, std::int64_t width) : h(height), w(width) {}
  friend constexpr bool operator==(const size2&, const size2&) = default;
};

inline std::ostream& operator<<(std::ostream& out, const size2& s) { return out << s.h << 'x' << s.w; }

FERGEN_END_NAMESPACE
