// fergen/backend/fast_silu.hpp: SiLU with an exponential that compilers vectorise, for the diffusion
// networks, where SiLU follows every normalisation.
#pragma once

#include <fergen/config.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <type_traits>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// exp(x) in float without a library call: Cephes' expf (range reduction by ln 2 in two parts, a degree-6
// polynomial, the exponent set through the bits), within 1 ulp of std::exp for |x| <= 80; |x| > 80 is taken
// as +-80 (e^80 = 5.5e34, e^-80 = 1.8e-35, ample for the sigmoid). libm's expf is a call per element that no
// loop vectorises; this is straight-line arithmetic, so the activation loop runs several elements per
// instruction (PyTorch's SiLU is vectorised the same way). The clamp works on the bits: a float compare
// would keep GCC from vectorising the loop (it will not if-convert floating-point selects).
FERGEN_HD inline float exp_polynomial(float x) {
  constexpr std::uint32_t limit = std::bit_cast<std::uint32_t>(80.0f);
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  x = std::bit_cast<float>((bits & 0x7fffffffu) > limit ? (bits & 0x80000000u) | limit : bits);
  // Round to nearest with the 1.5 * 2^23 trick: no rounding instruction needed on plain SSE2.
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  return e * std::bit_cast<float>((static_cast<std::int32_t>(n) + 127) << 23);
}

// SiLU (x * sigmoid(x)) as ops::activation takes functions (backend/activations.hpp): float uses
// exp_polynomial, double keeps std::exp (double serves gradient checks, where accuracy is the point).
// sigmoid = 1 / (1 + exp(-x)) needs no branch.
struct fast_silu_function {
  static constexpr std::string_view name = "silu";

  template <class T>
  FERGEN_HD static T sigmoid(T x) {
    if constexpr (std::is_same_v<T, float>) {
      return 1.0f / (1.0f + exp_polynomial(-x));
    } else {
      return T(1) / (T(1) + std::exp(-x));
    }
  }
  template <class T>
  FERGEN_HD T value(T x) const { return x * sigmoid(x); }
  template <class T>
  FERGEN_HD T derivative(T x, T) const {
    const T s = sigmoid(x);
    return s * (T(1) + x * (T(1) - s));
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
