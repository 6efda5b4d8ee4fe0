// fergen/backend/activations.hpp: the pointwise nonlinearities, their derivatives, and the op applying them.
#pragma once

#include <fergen/backend/backend.hpp>
#include <fergen/config.hpp>

#include <cmath>
#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// Each function gives value(x) and derivative(x, y) with y = value(x): some derivatives are cheaper from
// the output (sigmoid, tanh), others need the input (SiLU, GELU). FERGEN_HD: the same code runs in CUDA
// kernels.
struct relu_function {
  static constexpr std::string_view name = "relu";
  template <class T>
  FERGEN_HD T value(T x) const { return x > T(0) ? x : T(0); }
  template <class T>
  FERGEN_HD T derivative(T x, T) const { return x > T(0) ? T(1) : T(0); }
};

struct sigmoid_function {
  static constexpr std::string_view name = "sigmoid";
  template <class T>
  FERGEN_HD T value(T x) const {
    // Evaluated on the side where exp cannot overflow.
    if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
    const T e = std::exp(x);
    return e / (T(1) + e);
  }
  template <class T>
  FERGEN_HD T derivative(T, T y) const { return y * (T(1) - y); }
};

struct tanh_function {
  static constexpr std::string_view name = "tanh";
  template <class T>
  FERGEN_HD T value(T x) const { return std::tanh(x); }
  template <class T>
  FERGEN_HD T derivative(T, T y) const { return T(1) - y * y; }
};

// SiLU (swish): x * sigmoid(x); d/dx = s (1 + x (1 - s)).
struct silu_function {
  static constexpr std::string_view name = "silu";
  template <class T>
  FERGEN_HD T value(T x) const { return x * sigmoid_function{}.value(x); }
  template <class T>
  FERGEN_HD T derivative(T x, T) const {
    const T s = sigmoid_function{}.value(x);
    return s * (T(1) + x * (T(1) - s));
  }
};

// GELU, exact by default (x * Phi(x), PyTorch's approximate='none'); tanh = true gives the tanh
// approximation of Hendrycks & Gimpel (PyTorch's approximate='tanh').
struct gelu_function {
  static constexpr std::string_view name = "gelu";
  bool tanh = false;

  template <class T>
  FERGEN_HD T value(T x) const {
    if (tanh) return T(0.5) * x * (T(1) + std::tanh(inner(x)));
    return T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440)));
  }
  template <class T>
  FERGEN_HD T derivative(T x, T) const {
    if (tanh) {
      const T t = std::tanh(inner(x));
      const T d_inner = T(0.79788456080286535588) * (T(1) + T(3 * 0.044715) * x * x);
      return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * d_inner;
    }
    const T cdf = T(0.5) * (T(1) + std::erf(x * T(0.70710678118654752440)));
    const T pdf = T(0.39894228040143267794) * std::exp(T(-0.5) * x * x);
    return cdf + x * pdf;
  }

 private:
  template <class T>
  FERGEN_HD static T inner(T x) { return T(0.79788456080286535588) * (x + T(0.044715) * x * x * x); }
};

// activation<Backend> provides, for a function F above:
//   forward(ctx, x, f) -> y = f.value(x)
//   backward(ctx, x, y, dy, f) -> dx = dy * f.derivative(x, y)
template <class Backend>
struct activation {
  static_assert(always_false<Backend>, "activation: no kernel for this backend; CUDA needs nvcc and FERGEN_WITH_CUDA");
};

}  // namespace ops
FERGEN_END_NAMESPACE
