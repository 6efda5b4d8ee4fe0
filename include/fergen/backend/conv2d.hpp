// fergen/backend/conv2d.hpp: the 2-D convolution op: its geometry and the kernel each backend provides.
#pragma once

#include <fergen/backend/backend.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/shape.hpp>

#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops {

// Kernel size, stride, padding and dilation per axis, as torch.nn.Conv2d takes them. Asymmetric kernels
// (Inception's 1x7 and 7x1) are just kernel_h != kernel_w.
struct conv2d_geometry {
  std::int64_t kernel_h = 1, kernel_w = 1;
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t pad_h = 0, pad_w = 0;
  std::int64_t dilation_h = 1, dilation_w = 1;

  // floor((in + 2 pad - dilation (kernel - 1) - 1) / stride) + 1, PyTorch's formula.
  static constexpr std::int64_t extent(std::int64_t in, std::int64_t kernel, std::int64_t stride,
                                       std::int64_t pad, std::int64_t dilation) {
    const std::int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;
    return span < 0 ? 0 : span / stride + 1;
  }
  constexpr std::int64_t out_h(std::int64_t in) const { return extent(in, kernel_h, stride_h, pad_h, dilation_h); }
  constexpr std::int64_t out_w(std::int64_t in) const { return extent(in, kernel_w, stride_w, pad_w, dilation_w); }

  // A 1x1 convolution with unit stride and no padding is a plain matrix product over the pixels.
  constexpr bool pointwise() const {
    return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 && pad_w == 0;
  }

  void validate() const {
    require(kernel_h > 0 && kernel_w > 0 && stride_h > 0 && stride_w > 0 && pad_h >= 0 && pad_w >= 0 &&
                dilation_h > 0 && dilation_w > 0,
            "conv2d: invalid geometry kernel ", kernel_h, "x", kernel_w, ", stride ", stride_h, "x", stride_w,
            ", padding ", pad_h, "x", pad_w, ", dilation ", dilation_h, "x", dilation_w,
            " (kernel, stride and dilation must be positive, padding non-negative)");
  }

  // Output shape for input x and out_channels filters; the message names both shapes when x is too small.
  shape output(const shape& x, std::int64_t out_channels) const {
    const shape y{x.n, out_channels, out_h(x.h), out_w(x.w)};
    require(y.h > 0 && y.w > 0, "conv2d: input ", x, " is smaller than the ", kernel_h, "x", kernel_w,
            " kernel (dilation ", dilation_h, "x", dilation_w, ", padding ", pad_h, "x", pad_w, ")");
    return y;
  }
};

// conv2d<Backend> provides, for x [N, C, H, W], weight [OC, C, KH, KW], bias [OC] (as [OC, 1, 1, 1]):
//   forward(ctx, x, weight, bias_or_null, geometry) -> y [N, OC, OH, OW]
//   backward_data(ctx, dy, weight, x_shape, geometry) -> dx
//   backward_weight(ctx, dy, x, geometry, dweight_or_null, dbias_or_null)   accumulates (+=)
template <class Backend>
struct conv2d {
  static_assert(always_false<Backend>, "conv2d: no kernel for this backend; CUDA needs nvcc and FERGEN_WITH_CUDA");
};

}  // namespace ops
FERGEN_END_NAMESPACE
