// fergen/augment/fill_mode.hpp: how a warp fills output pixels whose source lies outside the input.
#pragma once

#include <fergen/core/error.hpp>

#include <ostream>
#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace augment {

// The four modes Keras' ImageDataGenerator documents. Keras hands the name straight to
// scipy.ndimage.affine_transform, so each mode means exactly what it means to scipy (1.10, order 1):
//   nearest   a a a a | a b c d | d d d d
//   constant  cval outside [0, n - 1] on either axis, and no interpolation across the edge (unlike scipy's
//             'grid-constant', which blends the last pixel with cval)
//   reflect   d c b a | a b c d | d c b a  (half-sample symmetric, period 2n)
//   wrap      scipy's legacy 'wrap', whose period is n - 1: coordinate n - 1 + e lands on e, so the first and
//             the last pixel coincide (scipy's 'grid-wrap', period n, is not what Keras gets)
enum class fill_mode { nearest, constant, reflect, wrap };

inline constexpr std::string_view valid_fill_modes = "nearest, constant, reflect, wrap";

inline constexpr bool is_valid(fill_mode mode) {
  return mode == fill_mode::nearest || mode == fill_mode::constant || mode == fill_mode::reflect ||
         mode == fill_mode::wrap;
}

// The Keras/scipy spelling of the mode.
inline constexpr std::string_view name(fill_mode mode) {
  switch (mode) {
    case fill_mode::nearest: return "nearest";
    case fill_mode::constant: return "constant";
    case fill_mode::reflect: return "reflect";
    case fill_mode::wrap: return "wrap";
  }
  return "invalid";
}

// Exact, case-sensitive names, as Keras accepts them: a command line or a config file says "nearest".
inline fill_mode parse_fill_mode(std::string_view text) {
  for (const fill_mode mode : {fill_mode::nearest, fill_mode::constant, fill_mode::reflect, fill_mode::wrap})
    if (text == name(mode)) return mode;
  fail("augment: unknown fill mode '", text, "' (valid fill modes: ", valid_fill_modes, ")");
}

inline std::ostream& operator<<(std::ostream& out, fill_mode mode) {
  if (is_valid(mode)) return out << name(mode);
  return out << "fill_mode(" << static_cast<int>(mode) << ")";
}

}  // namespace augment
FERGEN_END_NAMESPACE
