// tests/cuda/cuda_support.hpp: comparing the CUDA backend with the CPU backend on the same inputs.
#pragma once

#include <fergen/cuda_networks.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace fergen::testing {

using host = cpu<float>;
using device = cuda<float>;
using host_tensor = tensor<host>;
using device_tensor = tensor<device>;

// The acceptance bound of the CUDA backend: float on both sides, TF32 off, relative to the largest value.
constexpr double cuda_tolerance = 1e-4;

// Uniform values in [lo, hi) from a Philox stream: the same tensor on every machine.
inline host_tensor random_host(shape s, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  host_tensor t = host_tensor::uninitialized(s);
  const random_stream stream{seed, 1};
  for (std::int64_t i = 0; i < t.size(); ++i)
    t.data()[i] = lo + (hi - lo) * stream.uniform(static_cast<std::uint64_t>(i));
  return t;
}

// max |a - b| / max |b| (the error measure of the acceptance criteria); infinite when the non-finite values
// differ, or when a is non-finite where b is finite, so no comparison passes by accident.
inline double relative_difference(const host_tensor& a, const host_tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double diff = 0, scale = 1e-30;
  for (std::int64_t i = 0; i < a.size(); ++i) {
    const double x = a.data()[i], y = b.data()[i];
    if (!std::isfinite(y)) {
      if (!(std::isnan(y) ? std::isnan(x) : x == y)) return std::numeric_limits<double>::infinity();
      continue;
    }
    if (!std::isfinite(x)) return std::numeric_limits<double>::infinity();
    diff = std::max(diff, std::abs(x - y));
    scale = std::max(scale, std::abs(y));
  }
  return diff / scale;
}

inline double relative_difference(const device_tensor& a, const host_tensor& b) {
  return relative_difference(to_host(a), b);
}

// Element for element the same bits (NaN matches NaN).
inline bool identical(const host_tensor& a, const host_tensor& b) {
  if (a.shape() != b.shape()) return false;
  for (std::int64_t i = 0; i < a.size(); ++i) {
    const float x = a.data()[i], y = b.data()[i];
    if (!(x == y || (std::isnan(x) && std::isnan(y)))) return false;
  }
  return true;
}
inline bool identical(const device_tensor& a, const host_tensor& b) { return identical(to_host(a), b); }

// CHECK that the device result matches the host one within the bound, saying what was compared.
#define FERGEN_CHECK_CLOSE(device_result, host_result, what)                                              \
  do {                                                                                                    \
    const double fergen_difference_ = ::fergen::testing::relative_difference(device_result, host_result); \
    INFO((what), ": relative difference ", fergen_difference_);                                           \
    CHECK(fergen_difference_ <= ::fergen::testing::cuda_tolerance);                                       \
  } while (false)

// Copies every parameter and buffer value of one network into another of the same architecture (same
// names in the same order), across backends.
template <class From, class To>
void copy_weights(From& from, To& to) {
  std::vector<host_tensor> values;
  nn::for_each_parameter(from, [&](std::string_view, auto& p) { values.push_back(to_backend<host>(p.value)); });
  nn::for_each_buffer(from, [&](std::string_view, auto& b) { values.push_back(to_backend<host>(b.value)); });
  std::size_t next = 0;
  nn::for_each_parameter(to, [&](std::string_view name, auto& p) {
    REQUIRE_MESSAGE(next < values.size(), name);
    p.value.copy_from(values[next++].values());
  });
  nn::for_each_buffer(to, [&](std::string_view name, auto& b) {
    REQUIRE_MESSAGE(next < values.size(), name);
    b.value.copy_from(values[next++].values());
  });
  REQUIRE(next == values.size());
}

}  // namespace fergen::testing
