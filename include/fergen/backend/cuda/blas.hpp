// fergen/backend/cuda/blas.hpp: row-major matrix products through cuBLAS, with TF32 only on request.
#pragma once

#include <fergen/backend/cuda/check.hpp>
#include <fergen/backend/cuda/cuda.hpp>

#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_blas {

// The math mode of the next product: plain fp32 (CUBLAS_DEFAULT_MATH never uses TF32 for sgemm) unless the
// context allows TF32 tensor cores.
inline void set_math(cuda_resources& r) {
  FERGEN_CUDA_CHECK(cublasSetMathMode(r.cublas(), r.allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
}

// Row-major C[m x n] = alpha * op(A) * op(B) + beta * C, as cpu_blas::gemm takes it. cuBLAS is column-major,
// where the same memory holds the transposes: C^T = op(B)^T op(A)^T, so the operands swap places.
inline void gemm(cuda_resources& r, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                 float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
                 std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  set_math(r);
  FERGEN_CUDA_CHECK(cublasSgemm_64(r.cublas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   n, m, k, &alpha, b, ldb, a, lda, &beta, c, ldc));
}

// `batch` independent products, operand i at a + i * stride_a (a stride of 0 reuses one operand).
inline void gemm_strided_batched(cuda_resources& r, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n,
                                 std::int64_t k, float alpha, const float* a, std::int64_t lda, std::int64_t stride_a,
                                 const float* b, std::int64_t ldb, std::int64_t stride_b, float beta, float* c,
                                 std::int64_t ldc, std::int64_t stride_c, std::int64_t batch) {
  if (m == 0 || n == 0 || batch == 0) return;
  set_math(r);
  FERGEN_CUDA_CHECK(cublasSgemmStridedBatched_64(r.cublas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                                 trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b, ldb, stride_b,
                                                 a, lda, stride_a, &beta, c, ldc, stride_c, batch));
}

}  // namespace ops::cuda_blas
FERGEN_END_NAMESPACE
