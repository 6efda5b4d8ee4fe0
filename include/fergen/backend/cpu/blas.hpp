// fergen/backend/cpu/blas.hpp: matrix products through oneDNN's sgemm (float, where the build has it) or OpenBLAS,
// partitioned over fergen's threads.
#pragma once

#include <fergen/backend/cpu/kernels.hpp>
#include <fergen/core/parallel.hpp>
#include <fergen/core/traits.hpp>

#include <cblas.h>
#if FERGEN_CPU_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

#include <algorithm>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace ops::cpu_blas {

// OpenBLAS (pthread build) and OpenMP each start their own workers; on a small machine the two pools
// oversubscribe the cores and both slow down. fergen lets OpenMP own the cores and calls OpenBLAS
// single-threaded from inside its partitions. Set once per process, before the first product.
inline void use_single_threaded_blas() {
  static const bool done = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)done;
}

// The name of the kernel OpenBLAS runs ("Haswell", "SkylakeX", ...): the environment (OPENBLAS_CORETYPE) may
// pin it below what the processor can do, so benchmarks print it beside their figures.
inline const char* openblas_kernel() { return openblas_get_corename(); }

// Row-major C[m x n] = alpha * op(A) * op(B) + beta * C on the calling thread. op(A) is m x k.
//
// Float products go to oneDNN's sgemm when the build has it and `kernels` allows it: its kernels are generated
// for the processor at run time (AVX-512 where it has it), and measured at 2x OpenBLAS's on the 2-core AVX-512
// development machine, whose environment pins OpenBLAS to its Haswell (AVX2) kernel (single thread, n = 64 to
// 1024: 177-199 GF/s against 88-100). Both sum in float; the results differ by rounding only.
template <real T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc,
          cpu_kernels kernels = default_cpu_kernels()) {
  if (m == 0 || n == 0) return;
#if FERGEN_CPU_ONEDNN
  if constexpr (std::is_same_v<T, float>) {
    if (use_onednn_products(kernels)) {
      one_thread_scope single;  // fergen partitions the work; the product runs on this thread alone
      if (dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) ==
          dnnl_success)
        return;
    }
  }
#endif
  (void)kernels;
  use_single_threaded_blas();
  const auto ta = trans_a ? CblasTrans : CblasNoTrans;
  const auto tb = trans_b ? CblasTrans : CblasNoTrans;
  const auto i = [](std::int64_t v) { return static_cast<blasint>(v); };
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, ta, tb, i(m), i(n), i(k), alpha, a, i(lda), b, i(ldb), beta, c, i(ldc));
  } else {
    cblas_dgemm(CblasRowMajor, ta, tb, i(m), i(n), i(k), alpha, a, i(lda), b, i(ldb), beta, c, i(ldc));
  }
}

// The same product split into blocks of C computed by all threads: along n when C is wide (the usual
// case: columns are pixels), along m otherwise. Each element is still produced by one single-threaded
// gemm, so the result does not depend on the number of threads.
template <real T>
void parallel_gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
                   const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc,
                   cpu_kernels kernels = default_cpu_kernels()) {
  constexpr std::int64_t granule = 64;  // keeps blocks aligned to the micro-kernel's panels
  const std::int64_t threads = thread_count();
  const std::int64_t work = m * n * std::max<std::int64_t>(k, 1);
  if (threads <= 1 || work < 64 * 64 * 64) {
    gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, kernels);
    return;
  }
  const bool split_columns = n >= m;
  const std::int64_t extent = split_columns ? n : m;
  const std::int64_t blocks = std::min(threads, std::max<std::int64_t>(1, extent / granule));
  parallel_for(blocks, [&](std::int64_t blk) {
    const std::int64_t begin = extent * blk / blocks, end = extent * (blk + 1) / blocks;
    if (split_columns) {
      const T* b_part = trans_b ? b + begin * ldb : b + begin;
      gemm(trans_a, trans_b, m, end - begin, k, alpha, a, lda, b_part, ldb, beta, c + begin, ldc, kernels);
    } else {
      const T* a_part = trans_a ? a + begin : a + begin * lda;
      gemm(trans_a, trans_b, end - begin, n, k, alpha, a_part, lda, b, ldb, beta, c + begin * ldc, ldc, kernels);
    }
  });
}

}  // namespace ops::cpu_blas
FERGEN_END_NAMESPACE
