// fergen/backend/cuda/check.hpp: CUDA runtime, cuBLAS and cuDNN status codes turned into fergen::error
// messages that name the failing call.
#pragma once

#include <fergen/config.hpp>

#if !FERGEN_CUDA_COMPILE
#error "fergen/backend/cuda: the CUDA backend compiles only with nvcc and FERGEN_WITH_CUDA=1 (link fergen::cuda)"
#endif

#include <fergen/core/error.hpp>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#if FERGEN_WITH_CUDNN
#include <cudnn.h>
#endif

#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace cuda_detail {

// "cudaMemcpyAsync(dst, src, ...)" -> "cudaMemcpyAsync": messages name the call, not its argument text.
constexpr std::string_view call_name(std::string_view expression) { return expression.substr(0, expression.find('(')); }

inline void check(cudaError_t status, std::string_view call) {
  if (status == cudaSuccess) return;
  // Clears the error if it is not sticky, so that the next launch check does not report it a second time.
  (void)cudaGetLastError();
  fail("cuda: ", call, " failed: ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ")");
}

inline void check(cublasStatus_t status, std::string_view call) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  fail("cuda: ", call, " failed: ", cublasGetStatusName(status), " (", cublasGetStatusString(status), ")");
}

#if FERGEN_WITH_CUDNN
inline void check(cudnnStatus_t status, std::string_view call) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  fail("cuda: ", call, " failed: ", cudnnGetErrorString(status));
}
#endif

// A kernel launch reports bad configurations at once (cudaGetLastError); faults inside the kernel surface
// at the next synchronising call (a copy to the host), which then names that call. Building with
// FERGEN_CUDA_DEBUG_SYNC=1 synchronises after every launch, so the failing kernel is the one named.
inline void check_launch(std::string_view kernel, cudaStream_t stream) {
  check(cudaGetLastError(), kernel);
#if defined(FERGEN_CUDA_DEBUG_SYNC) && FERGEN_CUDA_DEBUG_SYNC
  check(cudaStreamSynchronize(stream), kernel);
#else
  (void)stream;
#endif
}

}  // namespace cuda_detail
FERGEN_END_NAMESPACE

// FERGEN_CUDA_CHECK(cudaMemcpyAsync(...)): throws fergen::error "cuda: cudaMemcpyAsync failed: <name> (<text>)".
#define FERGEN_CUDA_CHECK(...) \
  ::fergen::cuda_detail::check((__VA_ARGS__), ::fergen::cuda_detail::call_name(#__VA_ARGS__))
