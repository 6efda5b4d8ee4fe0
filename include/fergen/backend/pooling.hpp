// fergen/backend/pooling.hpp: max, average and adaptive average pooling: geometry and the kernels each
// backend provides.
#pragma once

#include <fergen/backend/backend.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/shape.hpp>

#include <cstdint>
#include <string>
#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// Kernel, stride and padding per axis and the rounding of the output size, as torch.nn.MaxPool2d and
// AvgPool2d take them (dilation 1).
struct pool2d_geometry {
  std::int64_t kernel_h = 1, kernel_w = 1;
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t pad_h = 0, pad_w = 0;
  bool ceil_mode = false;

  // Rounds towards minus infinity (PyTorch's div_rtn): a kernel larger than the padded input must give a
  // size <= 0, which truncating division would turn into 1.
  static constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
  }

  // PyTorch's pooling_output_shape: floor or ceil of (in + 2 pad - kernel) / stride, plus one. In ceil
  // mode the last window must start inside the input or its left padding, else it would see nothing but
  // padding and its maximum or average would be undefined.
  static constexpr std::int64_t extent(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t pad,
                                       bool ceil) {
    std::int64_t out = floor_div(in + 2 * pad - kernel + (ceil ? stride - 1 : 0), stride) + 1;
    if (ceil && (out - 1) * stride >= in + pad) --out;
    return out;
  }
  constexpr std::int64_t out_h(std::int64_t in) const { return extent(in, kernel_h, stride_h, pad_h, ceil_mode); }
  constexpr std::int64_t out_w(std::int64_t in) const { return extent(in, kernel_w, stride_w, pad_w, ceil_mode); }

  // "max_pool2d(3x3, stride 2x2, padding 1x1)": how messages name the op.
  std::string describe(std::string_view op) const {
    return str(op, "(", kernel_h, "x", kernel_w, ", stride ", stride_h, "x", stride_w, ", padding ", pad_h, "x", pad_w,
               ceil_mode ? ", ceil_mode" : "", ")");
  }

  void validate(std::string_view op) const {
    require(kernel_h > 0 && kernel_w > 0 && stride_h > 0 && stride_w > 0 && pad_h >= 0 && pad_w >= 0, describe(op),
            ": invalid geometry (kernel and stride must be positive, padding non-negative)");
    // PyTorch's rule. It also guarantees that every window holds at least one input element.
    require(pad_h <= kernel_h / 2 && pad_w <= kernel_w / 2, describe(op), ": padding ", pad_h, "x", pad_w,
            " exceeds half the ", kernel_h, "x", kernel_w, " kernel (padding must be at most kernel / 2)");
  }

  // The output shape for input x; the message names the input and the geometry when x is empty or
  // smaller than the kernel.
  shape output(const shape& x, std::string_view op) const {
    require(x.n >= 0 && x.c > 0 && x.h > 0 && x.w > 0, describe(op), ": input ", x,
            " has an empty or negative dimension");
    const shape y{x.n, x.c, out_h(x.h), out_w(x.w)};
    require(y.h > 0 && y.w > 0, describe(op), ": input ", x, " is smaller than the ", kernel_h, "x", kernel_w,
            " kernel with padding ", pad_h, "x", pad_w, " (output would be ", y.h, "x", y.w, ")");
    return y;
  }
};

// Adaptive pooling (torch.nn.AdaptiveAvgPool2d): output cell i of `out` covers input cells
// [floor(i * in / out), ceil((i + 1) * in / out)). Windows overlap when in is not a multiple of out, and
// repeat input cells when out > in. Integer arithmetic: exact for every size.
constexpr std::int64_t adaptive_start(std::int64_t i, std::int64_t in, std::int64_t out) { return i * in / out; }
constexpr std::int64_t adaptive_end(std::int64_t i, std::int64_t in, std::int64_t out) {
  return ((i + 1) * in + out - 1) / out;
}

// Checks that an adaptive pool's input and output sizes are usable and gives the output shape.
inline shape adaptive_output(const shape& x, std::int64_t out_h, std::int64_t out_w) {
  require(out_h > 0 && out_w > 0, "adaptive_avg_pool2d(", out_h, "x", out_w, "): output size must be positive");
  require(x.n >= 0 && x.c > 0 && x.h > 0 && x.w > 0, "adaptive_avg_pool2d(", out_h, "x", out_w, "): input ", x,
          " has an empty or negative dimension");
  return {x.n, x.c, out_h, out_w};
}

// max_pool2d<Backend> provides, for x [N, C, H, W] (padding acts as -infinity, never selected; NaN wins,
// as in PyTorch):
//   indices_type                                           where each output's maximum came from
//   forward(ctx, x, geometry, indices_or_null) -> y        fills *indices when given (ties: first maximum)
//   backward(ctx, dy, indices, x_shape, geometry) -> dx    routes each gradient to its recorded maximum
template <class Backend>
struct max_pool2d {
  static_assert(always_false<Backend>,
                "max_pool2d: no kernel for this backend; CUDA needs nvcc and FERGEN_WITH_CUDA");
};

// avg_pool2d<Backend> provides (torch.nn.AvgPool2d without divisor_override):
//   forward(ctx, x, geometry, count_include_pad) -> y
//   backward(ctx, dy, x_shape, geometry, count_include_pad) -> dx
// count_include_pad divides by the window clipped to the padded input, otherwise by the number of input
// elements in the window.
template <class Backend>
struct avg_pool2d {
  static_assert(always_false<Backend>,
                "avg_pool2d: no kernel for this backend; CUDA needs nvcc and FERGEN_WITH_CUDA");
};

// adaptive_avg_pool2d<Backend> provides:
//   forward(ctx, x, out_h, out_w) -> y [N, C, out_h, out_w]
//   backward(ctx, dy, x_shape) -> dx
template <class Backend>
struct adaptive_avg_pool2d {
  static_assert(always_false<Backend>,
                "adaptive_avg_pool2d: no kernel for this backend; CUDA needs nvcc and FERGEN_WITH_CUDA");
};

}  // namespace ops
FERGEN_END_NAMESPACE
