// Tests of core/parallel.hpp.
#include <fergen/core/parallel.hpp>

#include <doctest/doctest.h>

#include <omp.h>

#include <atomic>
#include <vector>

using namespace fergen;

TEST_CASE("parallel_for visits every index exactly once, with one thread or several") {
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    for (std::int64_t count : {0, 1, 7, 1000}) {
      std::vector<std::atomic<int>> seen(static_cast<std::size_t>(count));
      parallel_for(count, [&](std::int64_t i) { seen[static_cast<std::size_t>(i)]++; });
      for (const auto& s : seen) CHECK(s == 1);
    }
  }
  omp_set_num_threads(1);
}

TEST_CASE("parallel_ranges covers [0, count) with disjoint ranges, one per thread") {
  omp_set_num_threads(2);
  std::vector<std::atomic<int>> seen(100);
  std::atomic<int> calls = 0;
  parallel_ranges(100, [&](int thread, std::int64_t begin, std::int64_t end) {
    CHECK(thread < thread_count());
    ++calls;
    for (std::int64_t i = begin; i < end; ++i) seen[static_cast<std::size_t>(i)]++;
  });
  for (const auto& s : seen) CHECK(s == 1);
  CHECK(calls == 2);
  calls = 0;
  parallel_ranges(10, [&](int, std::int64_t, std::int64_t) { ++calls; }, 100);  // too little work to split
  CHECK(calls == 1);
  omp_set_num_threads(1);
}
