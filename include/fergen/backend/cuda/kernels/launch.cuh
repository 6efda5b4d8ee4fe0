// fergen/backend/cuda/kernels/launch.cuh: launching a kernel over an index range, the building block of
// the backend's elementwise kernels (and of new ops: write a function object, call for_each_index).
#pragma once

#include <fergen/backend/cuda/check.hpp>

#include <algorithm>
#include <cstdint>
#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_kernels {

// Threads per block of every fergen kernel. Reductions rely on it being a power of two.
constexpr int block_size = 256;
static_assert((block_size & (block_size - 1)) == 0, "block_size must be a power of two");

// Blocks for n independent items. The kernels loop over their range with a grid stride, so a grid capped
// at max_blocks still covers any 64-bit n.
constexpr std::int64_t max_blocks = std::int64_t{1} << 20;
inline unsigned grid_for(std::int64_t n) {
  return static_cast<unsigned>(std::clamp<std::int64_t>((n + block_size - 1) / block_size, 1, max_blocks));
}

// Indices are 64-bit: a batch of activations passes 2^31 elements (64 x 256 x 160 x 160 is 4e8; a few of
// those, and products with blockDim, overflow 32 bits).
__device__ inline std::int64_t global_index() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline std::int64_t global_stride() { return static_cast<std::int64_t>(gridDim.x) * blockDim.x; }

template <class F>
__global__ void for_each_index_kernel(std::int64_t n, F f) {
  for (std::int64_t i = global_index(); i < n; i += global_stride()) f(i);
}

// Runs f(i) for every i in [0, n) on `stream`, each index on its own thread, in no particular order. F is a
// trivially copyable function object with a `FERGEN_HD void operator()(std::int64_t) const` (the backend
// uses named structs; an nvcc --extended-lambda __device__ lambda works as well). `name` names the kernel in
// error messages.
template <class F>
void for_each_index(cudaStream_t stream, std::int64_t n, const F& f, std::string_view name) {
  if (n <= 0) return;
  for_each_index_kernel<<<grid_for(n), block_size, 0, stream>>>(n, f);
  cuda_detail::check_launch(name, stream);
}

struct fill_values {
  float* out;
  float value;
  FERGEN_HD void operator()(std::int64_t i) const { out[i] = value; }
};

inline void fill(cudaStream_t stream, float* out, std::int64_t n, float value) {
  for_each_index(stream, n, fill_values{out, value}, "fill");
}

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
