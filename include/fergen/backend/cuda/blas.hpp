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

// A row-major product C[m x n] = alpha * op(A) * op(B) + beta * C (op(A) is m x k), as cpu_blas::gemm takes
// it, repeated `batch` times with operand i at a + i * stride_a and so on (a stride of 0 reuses one operand).
struct gemm_args {
  bool trans_a, trans_b;
  std::int64_t m, n, k;
  float alpha;
  const float* a;
  std::int64_t lda, stride_a;
  const float* b;
  std::int64_t ldb, stride_b;
  float beta;
  float* c;
  std::int64_t ldc, stride_c;
  std::int64_t batch;
};

// The same product as column-major BLAS (cuBLAS) sees the memory: it holds the transposes, and
// C^T = op(B)^T op(A)^T, so the operands swap places. The test suite runs this mapping through OpenBLAS's
// column-major interface on the host.
constexpr gemm_args column_major(const gemm_args& g) {
  return {g.trans_b, g.trans_a, g.n,    g.m,        g.k,  g.alpha, g.b,   g.ldb,      g.stride_b,
          g.a,       g.lda,     g.stride_a, g.beta, g.c,  g.ldc,   g.stride_c, g.batch};
}

inline cublasOperation_t op(bool trans) { return trans ? CUBLAS_OP_T : CUBLAS_OP_N; }

inline void gemm_strided_batched(cuda_resources& r, const gemm_args& row_major) {
  if (row_major.m == 0 || row_major.n == 0 || row_major.batch == 0) return;
  set_math(r);
  const gemm_args g = column_major(row_major);
  if (g.batch == 1) {
    FERGEN_CUDA_CHECK(cublasSgemm_64(r.cublas(), op(g.trans_a), op(g.trans_b), g.m, g.n, g.k, &g.alpha, g.a, g.lda, g.b,
                                     g.ldb, &g.beta, g.c, g.ldc));
  } else {
    FERGEN_CUDA_CHECK(cublasSgemmStridedBatched_64(r.cublas(), op(g.trans_a), op(g.trans_b), g.m, g.n, g.k, &g.alpha,
                                                   g.a, g.lda, g.stride_a, g.b, g.ldb, g.stride_b, &g.beta, g.c, g.ldc,
                                                   g.stride_c, g.batch));
  }
}

// Row-major C[m x n] = alpha * op(A) * op(B) + beta * C: cpu_blas::gemm's arguments.
inline void gemm(cuda_resources& r, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                 float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
                 std::int64_t ldc) {
  gemm_strided_batched(r, {trans_a, trans_b, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1});
}

}  // namespace ops::cuda_blas
FERGEN_END_NAMESPACE
