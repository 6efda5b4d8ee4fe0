// fergen/backend/cpu/winograd.hpp: 3x3 convolutions with stride 1 and padding 1 by Winograd's F(2x2, 3x3).
#pragma once

#include <fergen/backend/conv2d.hpp>
#include <fergen/backend/cpu/blas.hpp>
#include <fergen/core/parallel.hpp>
#include <fergen/core/shape.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace ops::cpu_winograd {

// Why: VGG-16 is thirteen such convolutions. As im2col + gemm they cost 36 multiplications per 2x2 outputs
// and a 9-fold copy of the input (59 MB per 160x160x64 image, written, then packed again by the gemm); at
// OpenBLAS's peak that is slower than oneDNN's direct kernels. F(2x2, 3x3) (Lavin & Gray, 2016) computes each
// 2x2 output tile from a 4x4 input tile with 16 multiplications per channel pair, as 16 independent matrix
// products over tiles, Y = A^T [(G g G^T) . (B^T d B)] A:
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],  A^T = [1 1 1 0; 0 1 -1 -1]
// The transforms add and subtract only (G halves), so the result differs from the direct sum by rounding alone
// (about 1e-6 relative in float). Tiles are processed in chunks, each by one thread with single-threaded
// products, so every output is computed the same way whatever the number of threads.

// The convolutions this path takes: 3x3, stride 1, padding 1, dilation 1, with enough channels on both sides
// for the products to dominate the transforms, on maps large enough for the tiles not to be mostly padding.
inline bool applies(const conv2d_geometry& g, const shape& x, std::int64_t out_channels) {
  return g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 1 && g.pad_w == 1 &&
         g.dilation_h == 1 && g.dilation_w == 1 && x.c >= 16 && out_channels >= 16 && x.h * x.w >= 64;
}

// U[xi][k][c] = (G w[k][c] G^T)[xi], xi = 4 i + j over the 4x4 transformed tile. flip: use w[c][k] rotated by
// 180 degrees (the data gradient of a convolution is the convolution of dy with that kernel).
template <class T>
std::vector<T> transform_weights(const T* w, std::int64_t k_count, std::int64_t c_count, bool flip) {
  std::vector<T> u(static_cast<std::size_t>(16 * k_count * c_count));
  const T half = T(0.5);
  for (std::int64_t k = 0; k < k_count; ++k) {
    for (std::int64_t c = 0; c < c_count; ++c) {
      T g[3][3];
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
          g[i][j] = flip ? w[((c * k_count + k) * 3 + (2 - i)) * 3 + (2 - j)] : w[((k * c_count + c) * 3 + i) * 3 + j];
      T a[4][3];  // G g
      for (int j = 0; j < 3; ++j) {
        a[0][j] = g[0][j];
        a[1][j] = half * (g[0][j] + g[1][j] + g[2][j]);
        a[2][j] = half * (g[0][j] - g[1][j] + g[2][j]);
        a[3][j] = g[2][j];
      }
      for (int i = 0; i < 4; ++i) {
        const T v[4] = {a[i][0], half * (a[i][0] + a[i][1] + a[i][2]), half * (a[i][0] - a[i][1] + a[i][2]), a[i][2]};
        for (int j = 0; j < 4; ++j) u[static_cast<std::size_t>(((i * 4 + j) * k_count + k) * c_count + c)] = v[j];
      }
    }
  }
  return u;
}

// y [N, K, H, W] = conv3x3(x [N, C, H, W], weights transformed by transform_weights) + bias (or none).
template <class T>
void convolve(const T* x, const shape& xs, const std::vector<T>& u, std::int64_t k_count, const T* bias, T* y) {
  const std::int64_t c_count = xs.c, h = xs.h, w = xs.w;
  const std::int64_t tiles_h = (h + 1) / 2, tiles_w = (w + 1) / 2, per_image = tiles_h * tiles_w;
  const std::int64_t total = xs.n * per_image;
  // Tiles per chunk: wide enough for the products' micro-kernels, small enough that the chunk's transformed
  // input and output (16 x (C + K) x chunk values) stay within a few megabytes.
  const std::int64_t chunk = std::clamp<std::int64_t>((std::int64_t{1} << 19) / (16 * (c_count + k_count)) / 16 * 16,
                                                      32, 512);
  const std::int64_t chunks = (total + chunk - 1) / chunk;
  std::vector<std::unique_ptr<T[]>> scratch(static_cast<std::size_t>(thread_count()));
  parallel_for(chunks, [&](std::int64_t index) {
    auto& buffer = scratch[static_cast<std::size_t>(thread_index())];
    if (!buffer) buffer.reset(new T[static_cast<std::size_t>(16 * (c_count + k_count) * chunk)]);
    const std::int64_t t0 = index * chunk, t1 = std::min(total, t0 + chunk), n_tiles = t1 - t0;
    T* v = buffer.get();                  // [16][C][n_tiles]
    T* m = v + 16 * c_count * chunk;      // [16][K][n_tiles]
    const std::int64_t vs = c_count * n_tiles, ms = k_count * n_tiles;  // strides between the 16 planes

    // Input transform: V = B^T d B for each tile and channel, d the 4x4 patch at (2 ty - 1, 2 tx - 1).
    for (std::int64_t t = t0; t < t1; ++t) {
      const std::int64_t n = t / per_image, r = t % per_image, ty = r / tiles_w, tx = r % tiles_w;
      const std::int64_t y0 = 2 * ty - 1, x0 = 2 * tx - 1;
      const bool inside = y0 >= 0 && x0 >= 0 && y0 + 4 <= h && x0 + 4 <= w;
      for (std::int64_t c = 0; c < c_count; ++c) {
        const T* plane = x + (n * c_count + c) * h * w;
        T d[4][4];
        if (inside) {
          for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j) d[i][j] = plane[(y0 + i) * w + x0 + j];
        } else {
          for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j) {
              const std::int64_t yy = y0 + i, xx = x0 + j;
              d[i][j] = yy >= 0 && yy < h && xx >= 0 && xx < w ? plane[yy * w + xx] : T{0};
            }
        }
        T b[4][4];  // B^T d
        for (int j = 0; j < 4; ++j) {
          b[0][j] = d[0][j] - d[2][j];
          b[1][j] = d[1][j] + d[2][j];
          b[2][j] = d[2][j] - d[1][j];
          b[3][j] = d[1][j] - d[3][j];
        }
        T* out = v + c * n_tiles + (t - t0);
        for (int i = 0; i < 4; ++i) {
          out[(i * 4 + 0) * vs] = b[i][0] - b[i][2];
          out[(i * 4 + 1) * vs] = b[i][1] + b[i][2];
          out[(i * 4 + 2) * vs] = b[i][2] - b[i][1];
          out[(i * 4 + 3) * vs] = b[i][1] - b[i][3];
        }
      }
    }
    // The 16 products: M_xi [K, tiles] = U_xi [K, C] V_xi [C, tiles].
    for (std::int64_t xi = 0; xi < 16; ++xi)
      cpu_blas::gemm(false, false, k_count, n_tiles, c_count, T{1}, u.data() + xi * k_count * c_count, c_count,
                     v + xi * vs, n_tiles, T{0}, m + xi * ms, n_tiles);
    // Output transform: Y = A^T M A, the 2x2 tile (cut at the map's edge), plus the bias.
    for (std::int64_t k = 0; k < k_count; ++k) {
      const T beta = bias ? bias[k] : T{0};
      for (std::int64_t t = t0; t < t1; ++t) {
        const std::int64_t n = t / per_image, r = t % per_image, ty = r / tiles_w, tx = r % tiles_w;
        const T* in = m + k * n_tiles + (t - t0);
        T s[2][4];  // A^T M
        for (int j = 0; j < 4; ++j) {
          const T m0 = in[(0 * 4 + j) * ms], m1 = in[(1 * 4 + j) * ms], m2 = in[(2 * 4 + j) * ms],
                  m3 = in[(3 * 4 + j) * ms];
          s[0][j] = m0 + m1 + m2;
          s[1][j] = m1 - m2 - m3;
        }
        T* plane = y + (n * k_count + k) * h * w;
        const std::int64_t oy = 2 * ty, ox = 2 * tx;
        for (int i = 0; i < 2 && oy + i < h; ++i) {
          plane[(oy + i) * w + ox] = s[i][0] + s[i][1] + s[i][2] + beta;
          if (ox + 1 < w) plane[(oy + i) * w + ox + 1] = s[i][1] - s[i][2] - s[i][3] + beta;
        }
      }
    }
  });
}

}  // namespace ops::cpu_winograd
FERGEN_END_NAMESPACE
