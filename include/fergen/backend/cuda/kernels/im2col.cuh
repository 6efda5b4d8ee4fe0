// fergen/backend/cuda/kernels/im2col.cuh: the im2col layout of a convolution, its adjoint (as a gather:
// one thread per input element, no atomics), and the [N, C, P] <-> [C, N * P] transposition of the batch
// product. Used by the convolution when cuDNN is absent, declined, or has no algorithm for a geometry.
#pragma once

#include <fergen/backend/cuda/kernels/launch.cuh>

#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_kernels {

// A convolution's sizes in plain numbers: input c x h x w, output out_h x out_w per filter.
struct conv_dims {
  std::int64_t c, h, w, out_h, out_w;
  std::int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
};

// For images b of a chunk starting at x: col[b * image_stride + row * row_stride + p] with row = (c * KH +
// kh) * KW + kw and p = oh * OW + ow holds x[b, c, oh * sh - ph + kh * dh, ow * sw - pw + kw * dw], or 0 in
// the padding (cpu_conv::im2col). image_stride = K * P, row_stride = P: one [K, P] matrix per image (the
// batched products of forward and data gradient); image_stride = P, row_stride = B * P: one [K, B * P]
// matrix for the chunk (the weight gradient's single product).
struct im2col {
  const float* x;
  float* col;
  conv_dims d;
  std::int64_t image_stride, row_stride;
  FERGEN_HD void operator()(std::int64_t i) const {
    const std::int64_t p_count = d.out_h * d.out_w, k_count = d.c * d.kernel_h * d.kernel_w;
    const std::int64_t p = i % p_count, row = (i / p_count) % k_count, b = i / (p_count * k_count);
    const std::int64_t kw = row % d.kernel_w, kh = (row / d.kernel_w) % d.kernel_h, c = row / (d.kernel_w * d.kernel_h);
    const std::int64_t ow = p % d.out_w, oh = p / d.out_w;
    const std::int64_t ih = oh * d.stride_h - d.pad_h + kh * d.dilation_h;
    const std::int64_t iw = ow * d.stride_w - d.pad_w + kw * d.dilation_w;
    const bool inside = ih >= 0 && ih < d.h && iw >= 0 && iw < d.w;
    col[b * image_stride + row * row_stride + p] = inside ? x[((b * d.c + c) * d.h + ih) * d.w + iw] : 0.0f;
  }
};

// The adjoint of im2col (layout image_stride / row_stride as above): each input element adds the column
// entries that read it, in (kh, kw) order as cpu_conv::col2im adds them.
struct col2im {
  const float* col;
  float* dx;
  conv_dims d;
  std::int64_t image_stride, row_stride;
  FERGEN_HD void operator()(std::int64_t i) const {
    const std::int64_t iw = i % d.w, ih = (i / d.w) % d.h, c = (i / (d.w * d.h)) % d.c, b = i / (d.w * d.h * d.c);
    const float* image = col + b * image_stride;
    float sum = 0;
    for (std::int64_t kh = 0; kh < d.kernel_h; ++kh) {
      const std::int64_t oh_stride = ih + d.pad_h - kh * d.dilation_h;  // oh * stride_h when tap kh reads ih
      if (oh_stride < 0 || oh_stride % d.stride_h != 0) continue;
      const std::int64_t oh = oh_stride / d.stride_h;
      if (oh >= d.out_h) continue;
      for (std::int64_t kw = 0; kw < d.kernel_w; ++kw) {
        const std::int64_t ow_stride = iw + d.pad_w - kw * d.dilation_w;
        if (ow_stride < 0 || ow_stride % d.stride_w != 0) continue;
        const std::int64_t ow = ow_stride / d.stride_w;
        if (ow >= d.out_w) continue;
        const std::int64_t row = (c * d.kernel_h + kh) * d.kernel_w + kw;
        sum += image[row * row_stride + oh * d.out_w + ow];
      }
    }
    dx[i] = sum;
  }
};

// [B, C, P] -> [C, B * P] (cpu_conv::to_channel_major).
struct to_channel_major {
  const float* src;
  float* dst;
  std::int64_t images, channels, plane;
  FERGEN_HD void operator()(std::int64_t i) const {
    const std::int64_t p = i % plane, c = (i / plane) % channels, b = i / (plane * channels);
    dst[(c * images + b) * plane + p] = src[i];
  }
};

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
