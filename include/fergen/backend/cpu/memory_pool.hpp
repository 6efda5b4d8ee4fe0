// fergen/backend/cpu/memory_pool.hpp: the CPU backend's memory: blocks kept for reuse across training steps
// instead of going back to the operating system.
//
// Why: a training step makes and drops hundreds of tensors. glibc serves large blocks by mmap and unmaps them
// (or trims the heap) when they are freed, so every step faults its activations in again, page by page: on the
// demo UNet the process spent half its CPU time in the kernel (train-diffusion 70 images/s; 180 with the blocks
// kept, measured with glibc's thresholds raised). A process-wide allocator setting would change the behaviour of
// the whole program behind its author's back; the pool belongs to the backend, as the CUDA backend's
// stream-ordered pool does, and only fergen's tensors and scratch buffers use it.
//
// Blocks are grouped in size classes (four per power of two, so a class wastes at most a quarter); a freed block
// waits in its class for the next request of that class. Memory kept but unused is bounded (cache_limit): when a
// freed block would pass it, every kept block goes back to the system first, so a program whose working set
// changes (training at one batch size, then sampling at another) does not hold the old one forever. Small blocks
// go straight to the system allocator, whose bins already reuse them.
#pragma once

#include <fergen/config.hpp>

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <unordered_map>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE

class cpu_memory_pool {
 public:
  static constexpr std::size_t alignment = 64;           // a cache line; AVX-512 loads
  static constexpr std::size_t smallest_pooled = 16384;  // bytes; below: the system allocator

  struct statistics {
    std::size_t cached_bytes = 0;         // kept, free, ready for reuse
    std::size_t cached_blocks = 0;
    std::size_t in_use_bytes = 0;         // pooled blocks handed out and not yet returned
    std::uint64_t system_allocations = 0;  // pooled-size requests the system served (misses)
    std::uint64_t reuses = 0;              // requests served from kept blocks (hits)
    std::uint64_t flushes = 0;             // times the cache limit sent every kept block back
  };

  cpu_memory_pool() : limit_(default_cache_limit()) {}
  cpu_memory_pool(const cpu_memory_pool&) = delete;
  cpu_memory_pool& operator=(const cpu_memory_pool&) = delete;
  ~cpu_memory_pool() { release(); }

  // The size a request of `bytes` is served with.
  static std::size_t block_size(std::size_t bytes) {
    if (bytes < smallest_pooled) return std::max<std::size_t>(bytes, 1);
    const auto octave = static_cast<int>(std::bit_width(bytes)) - 1;  // 2^octave <= bytes
    const std::size_t step = std::size_t{1} << (octave - 2);  // four classes per octave
    return (bytes + step - 1) / step * step;
  }

  void* allocate(std::size_t bytes) {
    const std::size_t size = block_size(bytes);
    if (size >= smallest_pooled) {
      std::lock_guard lock(mutex_);
      if (auto it = free_.find(size); it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= size;
        --blocks_;
        in_use_ += size;
        ++reuses_;
        return p;
      }
    }
    void* p = nullptr;
    try {
      p = ::operator new(size, std::align_val_t{alignment});
    } catch (const std::bad_alloc&) {
      // The system is out of memory: give back what the pool keeps and try once more.
      release();
      p = ::operator new(size, std::align_val_t{alignment});
    }
    if (size >= smallest_pooled) {
      std::lock_guard lock(mutex_);
      ++misses_;
      in_use_ += size;
    }
    return p;
  }

  void deallocate(void* p, std::size_t bytes) noexcept {
    if (!p) return;
    const std::size_t size = block_size(bytes);
    if (size < smallest_pooled) {
      ::operator delete(p, std::align_val_t{alignment});
      return;
    }
    std::vector<void*> flushed;
    {
      std::lock_guard lock(mutex_);
      in_use_ -= size;
      if (size > limit_) {
        ::operator delete(p, std::align_val_t{alignment});
        return;
      }
      if (cached_ + size > limit_) take_all(flushed), ++flushes_;
      try {
        free_[size].push_back(p);
      } catch (...) {  // no memory for the list itself: the block goes back instead
        ::operator delete(p, std::align_val_t{alignment});
        return;
      }
      cached_ += size;
      ++blocks_;
    }
    for (void* q : flushed) ::operator delete(q, std::align_val_t{alignment});
  }

  // Returns every kept block to the system (blocks in use stay valid).
  void release() noexcept {
    std::vector<void*> flushed;
    {
      std::lock_guard lock(mutex_);
      take_all(flushed);
    }
    for (void* q : flushed) ::operator delete(q, std::align_val_t{alignment});
  }

  // The most memory kept free for reuse; 0 turns keeping off (every block goes back at once).
  void set_cache_limit(std::size_t bytes) {
    {
      std::lock_guard lock(mutex_);
      limit_ = bytes;
    }
    if (cache_limit_exceeded()) release();
  }
  std::size_t cache_limit() const {
    std::lock_guard lock(mutex_);
    return limit_;
  }

  statistics stats() const {
    std::lock_guard lock(mutex_);
    return {cached_, blocks_, in_use_, misses_, reuses_, flushes_};
  }

  // A quarter of the machine's memory, at least 1 GiB: room for a training step's activations, which are what
  // comes back every step, without letting a pool starve the rest of the program.
  static std::size_t default_cache_limit() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    const std::size_t gib = std::size_t{1} << 30;
    if (pages <= 0 || page <= 0) return 2 * gib;
    return std::max(gib, static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) / 4);
  }

 private:
  bool cache_limit_exceeded() const {
    std::lock_guard lock(mutex_);
    return cached_ > limit_;
  }

  // Under the lock: moves every kept block into `out` (freed by the caller, outside the lock).
  void take_all(std::vector<void*>& out) noexcept {
    try {
      out.reserve(blocks_);
    } catch (...) {
    }
    for (auto& [size, list] : free_) {
      for (void* p : list) {
        if (out.size() < out.capacity()) {
          out.push_back(p);
        } else {
          ::operator delete(p, std::align_val_t{alignment});
        }
      }
      list.clear();
    }
    cached_ = 0;
    blocks_ = 0;
  }

  mutable std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;
  std::size_t limit_;
  std::size_t cached_ = 0, blocks_ = 0, in_use_ = 0;
  std::uint64_t misses_ = 0, reuses_ = 0, flushes_ = 0;
};

// The CPU backend's pool, shared by every tensor and scratch buffer of the process. Never destroyed: a tensor
// in static storage may be freed after main returns.
inline cpu_memory_pool& cpu_memory() {
  static cpu_memory_pool* const pool = new cpu_memory_pool();
  return *pool;
}

namespace cpu_detail {

// A standard allocator over the pool: the CPU tensor's xtensor storage uses it.
template <class T>
struct pool_allocator {
  using value_type = T;

  pool_allocator() noexcept = default;
  template <class U>
  pool_allocator(const pool_allocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(cpu_memory().allocate(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept { cpu_memory().deallocate(p, n * sizeof(T)); }

  template <class U>
  bool operator==(const pool_allocator<U>&) const noexcept {
    return true;
  }
};

// An uninitialised array of `count` T from the pool, owned by one scope: the kernels' scratch space.
template <class T>
class scratch_buffer {
 public:
  scratch_buffer() = default;
  explicit scratch_buffer(std::int64_t count)
      : count_(static_cast<std::size_t>(std::max<std::int64_t>(count, 1))),
        data_(pool_allocator<T>().allocate(count_)) {}
  scratch_buffer(scratch_buffer&& o) noexcept : count_(std::exchange(o.count_, 0)), data_(std::exchange(o.data_, nullptr)) {}
  scratch_buffer& operator=(scratch_buffer&& o) noexcept {
    if (this != &o) {
      reset();
      count_ = std::exchange(o.count_, 0);
      data_ = std::exchange(o.data_, nullptr);
    }
    return *this;
  }
  ~scratch_buffer() { reset(); }

  T* get() const { return data_; }
  T& operator[](std::size_t i) const { return data_[i]; }
  std::size_t size() const { return count_; }
  explicit operator bool() const { return data_ != nullptr; }

 private:
  void reset() noexcept {
    if (data_) pool_allocator<T>().deallocate(data_, count_);
    data_ = nullptr;
    count_ = 0;
  }
  std::size_t count_ = 0;
  T* data_ = nullptr;
};

}  // namespace cpu_detail
FERGEN_END_NAMESPACE
