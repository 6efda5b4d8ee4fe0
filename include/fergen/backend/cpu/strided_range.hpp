// fergen/backend/cpu/strided_range.hpp: which outputs of a strided window read inside the input, along one axis:
// im2col's and col2im's columns (conv2d.hpp), max pooling's taps (pooling.hpp).
#pragma once

#include <fergen/config.hpp>

#include <algorithm>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops::cpu_strided {

constexpr std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// The output columns ow whose input column ow*stride + offset lies inside [0, size): [lo, hi).
struct valid_range {
  std::int64_t lo, hi;
};
constexpr valid_range inside(std::int64_t offset, std::int64_t stride, std::int64_t size, std::int64_t out) {
  const std::int64_t lo = offset >= 0 ? 0 : ceil_div(-offset, stride);
  const std::int64_t hi = size - offset > 0 ? ceil_div(size - offset, stride) : 0;
  return {std::min(lo, out), std::clamp(hi, std::min(lo, out), out)};
}

}  // namespace ops::cpu_strided
FERGEN_END_NAMESPACE
