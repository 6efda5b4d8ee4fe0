// The CPU backend's memory pool: size classes, reuse, the cache limit, and a training step that, once warm,
// asks the system for no pooled memory at all.
#include <fergen/backend/cpu/memory_pool.hpp>
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/diffusion/trainer.hpp>
#include <fergen/models/unet.hpp>
#include <fergen/models/unet_presets.hpp>
#include <fergen/nn/initialize.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

using namespace fergen;

TEST_CASE("memory pool: size classes are four per octave and never smaller than the request") {
  using pool = cpu_memory_pool;
  CHECK(pool::block_size(100) == 100);  // small: the system allocator's
  CHECK(pool::block_size(16384) == 16384);
  CHECK(pool::block_size(16385) == 20480);  // 16 KiB + a quarter
  CHECK(pool::block_size(20480) == 20480);
  CHECK(pool::block_size(20481) == 24576);
  CHECK(pool::block_size(32767) == 32768);
  CHECK(pool::block_size(1'000'000) == 1'048'576);  // 2^19 .. 2^20 in steps of 2^17
  for (std::size_t b = pool::smallest_pooled; b < (std::size_t{1} << 26); b = b * 5 / 4 + 7) {
    const std::size_t s = pool::block_size(b);
    CHECK(s >= b);
    CHECK(s <= b + b / 4);  // at most a quarter wasted
    CHECK(pool::block_size(s) == s);
  }
}

TEST_CASE("memory pool: a freed block serves the next request of its class, aligned") {
  cpu_memory_pool pool;
  void* a = pool.allocate(100000);
  CHECK(reinterpret_cast<std::uintptr_t>(a) % cpu_memory_pool::alignment == 0);
  std::memset(a, 1, 100000);
  CHECK(pool.stats().system_allocations == 1);
  CHECK(pool.stats().in_use_bytes == cpu_memory_pool::block_size(100000));
  pool.deallocate(a, 100000);
  CHECK(pool.stats().cached_blocks == 1);
  CHECK(pool.stats().in_use_bytes == 0);
  void* b = pool.allocate(99000);  // same class
  CHECK(b == a);
  CHECK(pool.stats().reuses == 1);
  CHECK(pool.stats().cached_bytes == 0);
  void* c = pool.allocate(50000);  // another class: the system's
  CHECK(c != a);
  CHECK(pool.stats().system_allocations == 2);
  pool.deallocate(b, 99000);
  pool.deallocate(c, 50000);
  CHECK(pool.stats().cached_blocks == 2);
  pool.release();
  CHECK(pool.stats().cached_blocks == 0);
  CHECK(pool.stats().cached_bytes == 0);
}

TEST_CASE("memory pool: small blocks bypass the pool; nothing is kept beyond the limit") {
  cpu_memory_pool pool;
  void* small = pool.allocate(64);
  pool.deallocate(small, 64);
  CHECK(pool.stats().cached_blocks == 0);
  CHECK(pool.stats().system_allocations == 0);

  pool.set_cache_limit(300000);
  void* a = pool.allocate(200000);
  void* b = pool.allocate(200000);
  pool.deallocate(a, 200000);  // kept: 200 KB (block 229376) under 300 KB
  CHECK(pool.stats().cached_blocks == 1);
  pool.deallocate(b, 200000);  // would pass the limit: the kept block goes back first
  CHECK(pool.stats().flushes == 1);
  CHECK(pool.stats().cached_blocks == 1);
  CHECK(pool.stats().cached_bytes <= pool.cache_limit());
  void* big = pool.allocate(400000);  // larger than the limit: never kept
  pool.deallocate(big, 400000);
  CHECK(pool.stats().cached_blocks == 1);

  pool.set_cache_limit(0);  // keeping off: what is kept goes back now
  CHECK(pool.stats().cached_blocks == 0);
  void* d = pool.allocate(200000);
  pool.deallocate(d, 200000);
  CHECK(pool.stats().cached_blocks == 0);
}

TEST_CASE("memory pool: threads allocating and freeing at once") {
  cpu_memory_pool pool;
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&pool, k] {
      for (int i = 0; i < 2000; ++i) {
        const std::size_t bytes = 20000 + static_cast<std::size_t>((i * 7 + k) % 5) * 30000;
        auto* p = static_cast<unsigned char*>(pool.allocate(bytes));
        p[0] = static_cast<unsigned char>(k);
        p[bytes - 1] = static_cast<unsigned char>(i);
        pool.deallocate(p, bytes);
      }
    });
  for (auto& t : threads) t.join();
  const auto s = pool.stats();
  CHECK(s.in_use_bytes == 0);
  CHECK(s.system_allocations + s.reuses == 8000);
  CHECK(s.system_allocations <= 4 * 5);  // at most one block per thread and class
}

TEST_CASE("memory pool: tensors come from it and go back to it") {
  cpu_memory_pool& pool = cpu_memory();
  const auto before = pool.stats();
  {
    tensor<cpu<float>> t({4, 16, 32, 32});  // 256 KiB
    CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % cpu_memory_pool::alignment == 0);
    CHECK(pool.stats().in_use_bytes == before.in_use_bytes + 4 * 16 * 32 * 32 * sizeof(float));
    t.fill(2.0f);
    CHECK(t.clone()(3, 15, 31, 31) == 2.0f);
  }
  CHECK(pool.stats().in_use_bytes == before.in_use_bytes);
}

TEST_CASE("memory pool: a warm diffusion training step asks the system for no pooled memory") {
  models::unet_config c = models::unet_presets::demo(3);
  c.image_size = 16;
  c.base_channels = 8;
  models::unet<cpu<float>> net(c);
  nn::initialize(net, 1);
  diffusion::trainer trainer(net, diffusion::diffusion_config{}, diffusion::trainer_options{.batch = 8, .steps = 10});
  const tensor<cpu<float>> x = tensor<cpu<float>>::full({8, 1, 16, 16}, 0.25f);
  const std::vector<std::int64_t> labels{0, 1, 2, 0, 1, 2, 0, 1};
  trainer.step(x, labels);
  trainer.step(x, labels);
  const auto warm = cpu_memory().stats();
  for (int i = 0; i < 3; ++i) trainer.step(x, labels);
  const auto after = cpu_memory().stats();
  CHECK(after.system_allocations == warm.system_allocations);
  CHECK(after.reuses > warm.reuses);
}
