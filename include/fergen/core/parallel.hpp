// fergen/core/parallel.hpp: the one place that talks to OpenMP.
#pragma once

#include <fergen/config.hpp>

#include <algorithm>
#include <cstdint>

#if defined(_OPENMP)
#include <omp.h>
#endif

FERGEN_BEGIN_NAMESPACE

// OpenMP owns the cores during fergen's kernels; OpenBLAS is kept single-threaded and called from inside
// the OpenMP partitions (see backend/cpu/blas.hpp), so the two pools never compete for the same cores.
inline int thread_count() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

inline int thread_index() {
#if defined(_OPENMP)
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// For threads that fergen does not start through OpenMP (a batch loader's std::thread workers): each is a
// new OpenMP initial thread that would otherwise start a team of its own in every kernel, putting
// workers x OpenMP threads on the cores. The setting is per thread; other threads keep theirs.
inline void use_one_thread_here() {
#if defined(_OPENMP)
  omp_set_num_threads(1);
#endif
}

// While it lives, a library that sizes its work by omp_get_max_threads() (oneDNN's products and convolutions)
// runs on the calling thread alone: fergen calls such kernels from inside its own partitions, where a second
// team would put more threads than cores on the machine. Outside a parallel region only; inside one,
// libraries built on OpenMP already run single-threaded.
class one_thread_scope {
 public:
  one_thread_scope() {
#if defined(_OPENMP)
    if (!omp_in_parallel() && (saved_ = omp_get_max_threads()) > 1) omp_set_num_threads(1);
#endif
  }
  ~one_thread_scope() {
#if defined(_OPENMP)
    if (saved_ > 1) omp_set_num_threads(saved_);
#endif
  }
  one_thread_scope(const one_thread_scope&) = delete;
  one_thread_scope& operator=(const one_thread_scope&) = delete;

 private:
  [[maybe_unused]] int saved_ = 1;
};

// Runs body(i) for i in [0, count), statically partitioned. Work smaller than min_per_thread items per
// thread stays on the calling thread: waking workers costs more than tiny loops gain. The body must not
// throw (an exception cannot cross an OpenMP region); kernels validate their arguments before the loop.
template <class Body>
void parallel_for(std::int64_t count, Body&& body, std::int64_t min_per_thread = 1) {
#if defined(_OPENMP)
  const std::int64_t useful = std::max<std::int64_t>(1, count / std::max<std::int64_t>(1, min_per_thread));
  const int threads = static_cast<int>(std::min<std::int64_t>(thread_count(), useful));
  if (threads > 1 && !omp_in_parallel()) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (std::int64_t i = 0; i < count; ++i) body(i);
    return;
  }
#endif
  (void)min_per_thread;
  for (std::int64_t i = 0; i < count; ++i) body(i);
}

// Runs body(thread, begin, end) once per thread over contiguous ranges of [0, count): for reductions with
// per-thread accumulators, the thread index picks the accumulator.
template <class Body>
void parallel_ranges(std::int64_t count, Body&& body, std::int64_t min_per_thread = 1) {
  const std::int64_t useful = std::max<std::int64_t>(1, count / std::max<std::int64_t>(1, min_per_thread));
  int threads = static_cast<int>(std::min<std::int64_t>(thread_count(), useful));
#if defined(_OPENMP)
  if (omp_in_parallel()) threads = 1;
#endif
  if (threads <= 1) {
    body(0, std::int64_t{0}, count);
    return;
  }
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int used = omp_get_num_threads();
    const std::int64_t begin = count * t / used;
    const std::int64_t end = count * (t + 1) / used;
    body(t, begin, end);
  }
#endif
}

FERGEN_END_NAMESPACE
