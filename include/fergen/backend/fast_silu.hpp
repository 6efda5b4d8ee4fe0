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
//
// The bit casts go through float_bits / bits_float: std::bit_cast is a host function to nvcc (a constexpr one,
// which device code may only call with --expt-relaxed-constexpr), and the CUDA backend runs this SiLU too.
FERGEN_HD inline std::uint32_t float_bits(float x) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(x);
#else
  return std::bit_cast<std::uint32_t>(x);
#endif
}
FERGEN_HD inline float bits_float(std::uint32_t x) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(x);
#else
  return std::bit_cast<float>(x);
#endif
}
inline constexpr std::uint32_t exp_polynomial_limit = 0x42a00000u;  // the bits of 80.0f
static_assert(std::bit_cast<std::uint32_t>(80.0f) == exp_polynomial_limit);

FERGEN_HD inline float exp_polynomial(float x) {
  constexpr std::uint32_t limit = exp_polynomial_limit;
  const std::uint32_t bits = float_bits(x);
  x = bits_float((bits & 0x7fffffffu) > limit ? (bits & 0x80000000u) | limit : bits);
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
  return e * bits_float(static_cast<std::uint32_t>((static_cast<std::int32_t>(n) + 127) << 23));
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
