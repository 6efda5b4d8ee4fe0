// fergen/backend/cpu/winograd.hpp: 3x3 convolutions with stride 1 and padding 1 by Winograd's F(2x2, 3x3).
#pragma once

#include <fergen/backend/conv2d.hpp>
#include <fergen/backend/cpu/blas.hpp>
#include <fergen/backend/cpu/memory_pool.hpp>
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
cpu_detail::scratch_buffer<T> transform_weights(const T* w, std::int64_t k_count, std::int64_t c_count, bool flip) {
  cpu_detail::scratch_buffer<T> u(16 * k_count * c_count);
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
//
// Work goes in chunks of whole tile rows, so both transforms run along rows as loops over contiguous memory
// that the compiler vectorises: a tile row needs input rows 2 ty - 1 .. 2 ty + 2, which are first copied with
// their zero padding into a buffer of 4 rows of 2 tiles_w + 2 values; B^T combines the 4 rows, then B combines
// neighbouring columns (p = 2 t .. 2 t + 3 in the padded row for tile t).
template <class T>
void convolve(const T* x, const shape& xs, const cpu_detail::scratch_buffer<T>& u, std::int64_t k_count, const T* bias, T* y,
              cpu_kernels kernels = default_cpu_kernels()) {
  const std::int64_t c_count = xs.c, h = xs.h, w = xs.w;
  const std::int64_t tiles_h = (h + 1) / 2, tiles_w = (w + 1) / 2, rows = xs.n * tiles_h;
  const std::int64_t padded = 2 * tiles_w + 2;  // input columns -1 .. 2 tiles_w
  // Tile rows per chunk: enough tiles for the products' micro-kernels, few enough that the chunk's transformed
  // input and output (16 x (C + K) values per tile) stay within a few megabytes.
  const std::int64_t target = std::clamp<std::int64_t>((std::int64_t{1} << 19) / (16 * (c_count + k_count)), 64, 512);
  const std::int64_t rows_per_chunk = std::max<std::int64_t>(1, target / tiles_w);
  const std::int64_t chunks = (rows + rows_per_chunk - 1) / rows_per_chunk;
  const std::int64_t max_tiles = rows_per_chunk * tiles_w;
  const std::int64_t scratch_size = 16 * (c_count + k_count) * max_tiles + 4 * padded + 8 * tiles_w + 2 * padded;
  std::vector<cpu_detail::scratch_buffer<T>> scratch(static_cast<std::size_t>(thread_count()));
  parallel_for(chunks, [&](std::int64_t index) {
    auto& buffer = scratch[static_cast<std::size_t>(thread_index())];
    if (!buffer) buffer = cpu_detail::scratch_buffer<T>(scratch_size);
    const std::int64_t r0 = index * rows_per_chunk, r1 = std::min(rows, r0 + rows_per_chunk);
    const std::int64_t n_tiles = (r1 - r0) * tiles_w;
    T* v = buffer.get();                     // [16][C][n_tiles]
    T* m = v + 16 * c_count * max_tiles;     // [16][K][n_tiles]
    T* band = m + 16 * k_count * max_tiles;  // [4][padded]: the input rows of one tile row, zero-padded
    T* s = band + 4 * padded;                // [8][tiles_w]: A^T M of one tile row
    T* line = s + 8 * tiles_w;               // [2][padded]: one tile row's two output rows
    const std::int64_t vs = c_count * n_tiles, ms = k_count * n_tiles;  // strides between the 16 planes

    // Input transform.
    for (std::int64_t c = 0; c < c_count; ++c) {
      for (std::int64_t r = r0; r < r1; ++r) {
        const std::int64_t n = r / tiles_h, y0 = 2 * (r % tiles_h) - 1;
        const T* plane = x + (n * c_count + c) * h * w;
        for (std::int64_t i = 0; i < 4; ++i) {
          T* dst = band + i * padded;
          const std::int64_t yy = y0 + i;
          if (yy < 0 || yy >= h) {
            std::fill(dst, dst + padded, T{0});
            continue;
          }
          dst[0] = T{0};
          std::copy(plane + yy * w, plane + yy * w + w, dst + 1);
          std::fill(dst + 1 + w, dst + padded, T{0});
        }
        // B^T over the rows, in place: band rows become b0 = d0 - d2, b1 = d1 + d2, b2 = d2 - d1, b3 = d1 - d3.
        T* d0 = band;
        T* d1 = band + padded;
        T* d2 = band + 2 * padded;
        T* d3 = band + 3 * padded;
        for (std::int64_t p = 0; p < padded; ++p) {
          const T a0 = d0[p], a1 = d1[p], a2 = d2[p], a3 = d3[p];
          d0[p] = a0 - a2;
          d1[p] = a1 + a2;
          d2[p] = a2 - a1;
          d3[p] = a1 - a3;
        }
        // B over the columns of each tile: V[i][0] = b[2t] - b[2t+2], V[i][1] = b[2t+1] + b[2t+2],
        // V[i][2] = b[2t+2] - b[2t+1], V[i][3] = b[2t+1] - b[2t+3].
        const std::int64_t j0 = (r - r0) * tiles_w;
        for (std::int64_t i = 0; i < 4; ++i) {
          const T* b = band + i * padded;
          T* o0 = v + (i * 4 + 0) * vs + c * n_tiles + j0;
          T* o1 = v + (i * 4 + 1) * vs + c * n_tiles + j0;
          T* o2 = v + (i * 4 + 2) * vs + c * n_tiles + j0;
          T* o3 = v + (i * 4 + 3) * vs + c * n_tiles + j0;
          for (std::int64_t t = 0; t < tiles_w; ++t) {
            const T e0 = b[2 * t], e1 = b[2 * t + 1], e2 = b[2 * t + 2], e3 = b[2 * t + 3];
            o0[t] = e0 - e2;
            o1[t] = e1 + e2;
            o2[t] = e2 - e1;
            o3[t] = e1 - e3;
          }
        }
      }
    }
    // The 16 products: M_xi [K, tiles] = U_xi [K, C] V_xi [C, tiles].
    for (std::int64_t xi = 0; xi < 16; ++xi)
      cpu_blas::gemm(false, false, k_count, n_tiles, c_count, T{1}, u.get() + xi * k_count * c_count, c_count,
                     v + xi * vs, n_tiles, T{0}, m + xi * ms, n_tiles, kernels);
    // Output transform: s[i][q] = (A^T M)[i][q] over a tile row, then Y = s A into two output rows, cut at the
    // map's edge, plus the bias.
    for (std::int64_t k = 0; k < k_count; ++k) {
      const T beta = bias ? bias[k] : T{0};
      for (std::int64_t r = r0; r < r1; ++r) {
        const std::int64_t n = r / tiles_h, oy = 2 * (r % tiles_h);
        const std::int64_t j0 = (r - r0) * tiles_w;
        for (std::int64_t q = 0; q < 4; ++q) {
          const T* m0 = m + (0 * 4 + q) * ms + k * n_tiles + j0;
          const T* m1 = m + (1 * 4 + q) * ms + k * n_tiles + j0;
          const T* m2 = m + (2 * 4 + q) * ms + k * n_tiles + j0;
          const T* m3 = m + (3 * 4 + q) * ms + k * n_tiles + j0;
          T* top = s + q * tiles_w;
          T* bottom = s + (4 + q) * tiles_w;
          for (std::int64_t t = 0; t < tiles_w; ++t) {
            top[t] = m0[t] + m1[t] + m2[t];
            bottom[t] = m1[t] - m2[t] - m3[t];
          }
        }
        for (std::int64_t i = 0; i < 2; ++i) {
          const T* s0 = s + (4 * i + 0) * tiles_w;
          const T* s1 = s + (4 * i + 1) * tiles_w;
          const T* s2 = s + (4 * i + 2) * tiles_w;
          const T* s3 = s + (4 * i + 3) * tiles_w;
          T* out = line + i * padded;
          for (std::int64_t t = 0; t < tiles_w; ++t) {
            out[2 * t] = s0[t] + s1[t] + s2[t] + beta;
            out[2 * t + 1] = s1[t] - s2[t] - s3[t] + beta;
          }
        }
        T* plane = y + (n * k_count + k) * h * w;
        std::copy(line, line + w, plane + oy * w);
        if (oy + 1 < h) std::copy(line + padded, line + padded + w, plane + (oy + 1) * w);
      }
    }
  });
}

}  // namespace ops::cpu_winograd
FERGEN_END_NAMESPACE
