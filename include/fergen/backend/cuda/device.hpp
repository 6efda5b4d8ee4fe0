// fergen/backend/cuda/device.hpp: the per-device stream and memory pool, and device allocations.
#pragma once

#include <fergen/backend/cuda/check.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/shape.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE

// The number of CUDA devices this process can use; 0 when there is none or no usable driver (never throws:
// tests and tools ask it to decide whether to run on the GPU at all).
inline int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return count;
}

namespace cuda_detail {

// One per device for the life of the process. Every fergen operation on the device runs on its one stream:
// tensors are created, filled, copied and freed without a context (a parameter is made in a constructor, an
// activation dies wherever its last copy does), and a single stream orders all of that after the kernels
// that use the memory, with no events or cross-stream bookkeeping. Contexts differ in their library handles
// and settings, not in their stream.
//
// Memory comes from a stream-ordered pool (cudaMallocFromPoolAsync) that keeps freed blocks for reuse:
// cudaFree synchronises the whole device and cudaMalloc is slow, which a training step creating and
// dropping hundreds of tensors cannot afford. It is ordinary device memory (never managed memory).
// Devices without memory pools fall back to cudaMalloc / cudaFree.
//
// Never destroyed: a tensor in static storage may be freed after main returns and must still find its
// stream; the driver reclaims everything at exit.
struct device_runtime {
  int device = 0;
  cudaStream_t stream = nullptr;
  cudaMemPool_t pool = nullptr;  // null: no stream-ordered allocator on this device
  std::mutex mutex;              // guards state hung off the runtime by other headers (handle pools, caches)
};

// Makes `device` current for a scope and restores the previous one.
class device_scope {
 public:
  explicit device_scope(int device) {
    FERGEN_CUDA_CHECK(cudaGetDevice(&previous_));
    if (previous_ != device) FERGEN_CUDA_CHECK(cudaSetDevice(device));
    switched_ = previous_ != device;
  }
  ~device_scope() {
    if (switched_) (void)cudaSetDevice(previous_);
  }
  device_scope(const device_scope&) = delete;
  device_scope& operator=(const device_scope&) = delete;

 private:
  int previous_ = 0;
  bool switched_ = false;
};

inline device_runtime& runtime(int device) {
  static std::mutex mutex;
  static auto& runtimes = *new std::vector<device_runtime*>();  // leaked on purpose, see device_runtime
  const std::lock_guard lock(mutex);
  if (device >= 0 && static_cast<std::size_t>(device) < runtimes.size() && runtimes[static_cast<std::size_t>(device)])
    return *runtimes[static_cast<std::size_t>(device)];
  const int count = cuda_device_count();
  require(count > 0, "cuda: no CUDA device is available (cudaGetDeviceCount found none, or no usable driver)");
  require(device >= 0 && device < count, "cuda: device ", device, " does not exist (", count, " device",
          count == 1 ? "" : "s", ")");
  const device_scope scope(device);
  auto* rt = new device_runtime;
  rt->device = device;
  // Non-blocking: work other libraries put on the legacy default stream neither waits for fergen's nor
  // delays it.
  FERGEN_CUDA_CHECK(cudaStreamCreateWithFlags(&rt->stream, cudaStreamNonBlocking));
  int pools = 0;
  FERGEN_CUDA_CHECK(cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device));
  if (pools) {
    cudaMemPoolProps props{};
    props.allocType = cudaMemAllocationTypePinned;
    props.handleTypes = cudaMemHandleTypeNone;
    props.location.type = cudaMemLocationTypeDevice;
    props.location.id = device;
    FERGEN_CUDA_CHECK(cudaMemPoolCreate(&rt->pool, &props));
    // Keep freed memory for reuse instead of returning it at every synchronisation.
    std::uint64_t keep = std::numeric_limits<std::uint64_t>::max();
    FERGEN_CUDA_CHECK(cudaMemPoolSetAttribute(rt->pool, cudaMemPoolAttrReleaseThreshold, &keep));
  }
  if (runtimes.size() <= static_cast<std::size_t>(device)) runtimes.resize(static_cast<std::size_t>(device) + 1);
  runtimes[static_cast<std::size_t>(device)] = rt;
  return *rt;
}

// The runtime of the current device (cudaSetDevice chooses it; fergen uses one device at a time).
inline device_runtime& current_runtime() {
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) {
    (void)cudaGetLastError();
    device = 0;  // runtime(0) then reports the missing device or driver in words
  }
  return runtime(device);
}

// `bytes` of device memory, ordered on the runtime's stream. `what` (and the tensor shape `of`, when given)
// name the allocation in the out-of-memory message, which is only built then. When the pool cannot grow, its
// cached blocks are returned to the device and the allocation is tried once more (library handles allocate
// outside the pool and can starve it).
inline void* allocate(device_runtime& rt, std::size_t bytes, std::string_view what, const shape* of = nullptr) {
  if (bytes == 0) return nullptr;
  const device_scope scope(rt.device);
  const auto attempt = [&](void** p) {
    return rt.pool ? cudaMallocFromPoolAsync(p, bytes, rt.pool, rt.stream) : cudaMalloc(p, bytes);
  };
  void* p = nullptr;
  cudaError_t status = attempt(&p);
  if (status == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    FERGEN_CUDA_CHECK(cudaStreamSynchronize(rt.stream));
    if (rt.pool) FERGEN_CUDA_CHECK(cudaMemPoolTrimTo(rt.pool, 0));
    status = attempt(&p);
  }
  if (status == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    std::size_t free_bytes = 0, total_bytes = 0;
    (void)cudaMemGetInfo(&free_bytes, &total_bytes);
    (void)cudaGetLastError();
    constexpr double mib = 1024.0 * 1024.0;
    const std::string shape_text = of ? " " + to_string(*of) : std::string();
    fail("cuda: out of device memory: ", what, shape_text, " needs ", static_cast<double>(bytes) / mib, " MiB; device ",
         rt.device, " has ", static_cast<double>(free_bytes) / mib, " MiB free of ",
         static_cast<double>(total_bytes) / mib, " MiB");
  }
  check(status, rt.pool ? "cudaMallocFromPoolAsync" : "cudaMalloc");
  return p;
}

// Returns memory to the pool, ordered after every kernel already queued on the stream. Never throws (it
// runs in destructors); after main returns the runtime may be unloading, and then nothing is left to do.
inline void release(device_runtime& rt, void* p) noexcept {
  if (!p) return;
  const cudaError_t status = rt.pool ? cudaFreeAsync(p, rt.stream) : cudaFree(p);
  if (status != cudaSuccess) (void)cudaGetLastError();
}

// An owned block of device memory; shared (through std::shared_ptr) by tensors and buffers that are copies
// of one another.
class device_allocation {
 public:
  device_allocation(device_runtime& rt, std::size_t bytes, std::string_view what, const shape* of = nullptr)
      : runtime_(&rt), pointer_(allocate(rt, bytes, what, of)), bytes_(bytes) {}
  ~device_allocation() { release(*runtime_, pointer_); }
  device_allocation(const device_allocation&) = delete;
  device_allocation& operator=(const device_allocation&) = delete;

  void* get() const { return pointer_; }
  std::size_t bytes() const { return bytes_; }
  device_runtime& runtime() const { return *runtime_; }

 private:
  device_runtime* runtime_;
  void* pointer_;
  std::size_t bytes_;
};

}  // namespace cuda_detail
FERGEN_END_NAMESPACE
