// fergen/backend/cuda/kernels/engine.cuh: what the ops made of several kernels run on.
//
// Normalisations and the im2col convolution are sequences of function objects (for_each, segment_sums) and
// products (gemm). They are written once, as templates over an engine: device_engine below launches them on
// the context's stream; the test suite's host engine runs the very same function objects in loops on the CPU
// and the products through OpenBLAS, so their logic is executed and checked against the CPU backend on
// machines without a GPU (tests/cuda/test_cuda_kernels_host.cu).
#pragma once

#include <fergen/backend/cuda/blas.hpp>
#include <fergen/backend/cuda/cuda.hpp>
#include <fergen/backend/cuda/device.hpp>
#include <fergen/backend/cuda/kernels/launch.cuh>
#include <fergen/backend/cuda/kernels/reduce.cuh>

#include <cstddef>
#include <cstdint>
#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_kernels {

class device_engine {
 public:
  explicit device_engine(cuda_resources& r) : r_(&r) {}

  // f(i) for i in [0, n).
  template <class F>
  void for_each(std::int64_t n, const F& f, std::string_view name) {
    for_each_index(r_->stream(), n, f, name);
  }

  // finish(s, sum over e of load(s, e)) for each of `segments` segments of `length` elements.
  template <int K, class Load, class Finish>
  void segment_sums(std::int64_t segments, std::int64_t length, const Load& load, const Finish& finish,
                    std::string_view name) {
    cuda_kernels::segment_sums<K>(r_->runtime(), segments, length, load, finish, name);
  }

  // Temporary memory, freed (in stream order) when the returned object goes.
  cuda_detail::device_allocation allocate(std::size_t bytes, std::string_view what) {
    return cuda_detail::device_allocation(r_->runtime(), bytes, what);
  }

  // Copies `bytes` of host data (indices, timesteps, per-sample coefficients, random streams) into device memory
  // from allocate(), in stream order. The host side may be reused as soon as this returns: from pageable memory
  // the driver stages the data before it returns (it may wait for the stream to do so; these copies are small).
  void upload(void* device, const void* host, std::size_t bytes) {
    if (bytes == 0) return;
    FERGEN_CUDA_CHECK(cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, r_->stream()));
  }

  // The context's scratch memory (see cuda_resources::scratch) and its limit.
  void* scratch(std::size_t bytes) { return r_->scratch(bytes); }
  std::size_t workspace_limit() const { return r_->workspace_limit; }

  void gemm(const cuda_blas::gemm_args& g) { cuda_blas::gemm_strided_batched(*r_, g); }

 private:
  cuda_resources* r_;
};

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
