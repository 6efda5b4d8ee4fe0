// fergen/backend/cuda/kernels/reduce.cuh: deterministic sums in double over segments of a tensor (per
// channel, per group, per sample, or the whole tensor), the reduction every norm, loss and gradient norm
// builds on.
#pragma once

#include <fergen/backend/cuda/device.hpp>
#include <fergen/backend/cuda/kernels/launch.cuh>
#include <fergen/core/error.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_kernels {

// K sums carried together (a batch-norm backward needs sum dy, sum dy (x - mean) and sum x from one pass).
// An aggregate of doubles: usable in shared memory and value-initialised to zero by sums<K>{}.
template <int K>
struct sums {
  double v[K];
};

template <int K>
FERGEN_HD inline void add_into(sums<K>& into, const sums<K>& x) {
  for (int k = 0; k < K; ++k) into.v[k] += x.v[k];
}

// Tree sum over the block (block_size threads) in shared memory, in an order fixed by the thread indices
// alone, so the same inputs give the same bits on every run and every GPU. Every thread of the block must
// call it; every thread gets the total.
template <int K>
__device__ sums<K> block_sum(const sums<K>& a) {
  __shared__ double partial[K][block_size];
  const int t = static_cast<int>(threadIdx.x);
  for (int k = 0; k < K; ++k) partial[k][t] = a.v[k];
  __syncthreads();
  for (int half = block_size / 2; half > 0; half /= 2) {
    if (t < half)
      for (int k = 0; k < K; ++k) partial[k][t] += partial[k][t + half];
    __syncthreads();
  }
  sums<K> total;
  for (int k = 0; k < K; ++k) total.v[k] = partial[k][0];
  __syncthreads();  // the shared array may be reused by a second call
  return total;
}

// Block (segment, slice) sums elements [slice * slice_length, (slice + 1) * slice_length) of its segment.
template <int K, class Load>
__global__ void segment_partial_kernel(std::int64_t length, std::int64_t slice_length, Load load, sums<K>* partial) {
  const std::int64_t segment = blockIdx.x;
  const std::int64_t slice = blockIdx.y;
  const std::int64_t begin = slice * slice_length;
  const std::int64_t end = begin + slice_length < length ? begin + slice_length : length;
  sums<K> a{};
  for (std::int64_t e = begin + threadIdx.x; e < end; e += block_size) add_into(a, load(segment, e));
  a = block_sum(a);
  if (threadIdx.x == 0) partial[segment * gridDim.y + slice] = a;
}

// One thread per segment adds its slices in slice order and hands the total to finish.
template <int K, class Finish>
__global__ void segment_finish_kernel(std::int64_t segments, std::int64_t slices, const sums<K>* partial,
                                      Finish finish) {
  for (std::int64_t segment = global_index(); segment < segments; segment += global_stride()) {
    sums<K> total{};
    for (std::int64_t s = 0; s < slices; ++s) add_into(total, partial[segment * slices + s]);
    finish(segment, total);
  }
}

// Slices per segment: one block per 4096 elements or more, up to 64 per segment, and up to 4096 blocks in all
// when there are few segments (one gradient's sum of squares is one segment of millions of values). A function
// of the sizes alone, so the order of the additions, and the bits of the result, do not depend on the device.
inline std::int64_t slices_for(std::int64_t segments, std::int64_t length) {
  const std::int64_t most = std::max<std::int64_t>(64, 4096 / std::max<std::int64_t>(segments, 1));
  return std::clamp<std::int64_t>(length / (block_size * 16), 1, most);
}

// For each of `segments` segments of `length` elements: total = the sum over e of load(segment, e) (a
// sums<K>, computed in double), then finish(segment, total). load is called exactly once per element, so it
// may also write a per-element result (the MSE gradient does). Deterministic: no atomics, fixed order.
// Load and Finish are function objects with FERGEN_HD call operators, as for for_each_index.
template <int K, class Load, class Finish>
void segment_sums(cuda_detail::device_runtime& rt, std::int64_t segments, std::int64_t length, const Load& load,
                  const Finish& finish, std::string_view name) {
  if (segments <= 0) return;
  require(segments <= std::numeric_limits<int>::max(), name, ": ", segments, " segments exceed one grid");
  const std::int64_t slices = slices_for(segments, length);
  const std::int64_t slice_length = std::max<std::int64_t>(1, (length + slices - 1) / slices);
  // Freed when this function returns, in stream order: after the finish kernel has read it.
  const cuda_detail::device_allocation partial(rt, static_cast<std::size_t>(segments * slices) * sizeof(sums<K>),
                                               "reduction partial sums");
  auto* p = static_cast<sums<K>*>(partial.get());
  const dim3 grid(static_cast<unsigned>(segments), static_cast<unsigned>(slices));
  segment_partial_kernel<K><<<grid, block_size, 0, rt.stream>>>(length, slice_length, load, p);
  cuda_detail::check_launch(name, rt.stream);
  segment_finish_kernel<K><<<grid_for(segments), block_size, 0, rt.stream>>>(segments, slices, p, finish);
  cuda_detail::check_launch(name, rt.stream);
}

// Loaders for the two layouts of NCHW data:
//   per channel:  segment c holds x[n, c, :, :] for every n (batch norm, bias gradients), element e is
//                 sample e / plane, pixel e % plane
//   contiguous:   segment s holds `length` consecutive values from s * length (per sample, per group of a
//                 group norm, per (sample, channel) plane)
struct channel_index {
  std::int64_t channels, plane;
  FERGEN_HD std::int64_t operator()(std::int64_t c, std::int64_t e) const {
    return ((e / plane) * channels + c) * plane + e % plane;
  }
};
struct contiguous_index {
  std::int64_t length;
  FERGEN_HD std::int64_t operator()(std::int64_t s, std::int64_t e) const { return s * length + e; }
};

// Loads one value as a sum, and finishes by adding the total (rounded to float) into out[segment]: the
// bias gradients of convolutions and linear layers.
template <class Index>
struct load_value {
  const float* x;
  Index index;
  FERGEN_HD sums<1> operator()(std::int64_t s, std::int64_t e) const {
    return {{static_cast<double>(x[index(s, e)])}};
  }
};
struct accumulate_total {
  float* out;
  FERGEN_HD void operator()(std::int64_t s, const sums<1>& total) const { out[s] += static_cast<float>(total.v[0]); }
};

// out[c] += sum over n, p of x[n, c, p] for x of shape [N, C, plane] (conv2d and linear bias gradients), over an
// engine (kernels/engine.cuh).
template <class Engine>
void accumulate_channel_sums(Engine& e, const float* x, std::int64_t n, std::int64_t channels, std::int64_t plane,
                             float* out, std::string_view name) {
  e.template segment_sums<1>(channels, n * plane, load_value<channel_index>{x, {channels, plane}},
                             accumulate_total{out}, name);
}

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
