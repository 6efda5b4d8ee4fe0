// fergen/backend/cuda/cuda.hpp: the CUDA backend policy cuda<float> and its per-context resources (the
// device's stream, cuBLAS and cuDNN handles, scratch memory, numerical settings).
#pragma once

#include <fergen/backend/backend.hpp>
#include <fergen/backend/cuda/check.hpp>
#include <fergen/backend/cuda/device.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace cuda_detail {

// The library handles one context uses, bound to the device's stream. Creating them is slow (cuDNN takes
// tens of milliseconds), and programs make contexts freely (one per evaluation pass, say), so a context
// borrows a set from its device's pool and gives it back when its last copy goes.
struct handle_set {
  cublasHandle_t cublas = nullptr;
  void* cublas_workspace = nullptr;
#if FERGEN_WITH_CUDNN
  cudnnHandle_t cudnn = nullptr;  // made on first use: only convolutions need it
#endif
  std::unique_ptr<device_allocation> scratch;  // workspace of convolutions and reductions, grown on demand
};

// cuBLAS' own workspace (its documented recommendation for Hopper), taken from fergen's pool so that cuBLAS
// does not cudaMalloc behind the pool's back.
constexpr std::size_t cublas_workspace_bytes = std::size_t{32} << 20;

inline std::vector<handle_set*>& free_handle_sets(device_runtime& rt) {
  // One list per device runtime, created with it; guarded by rt.mutex.
  static std::mutex mutex;
  static auto& lists = *new std::vector<std::pair<device_runtime*, std::vector<handle_set*>>>();
  const std::lock_guard lock(mutex);
  for (auto& [owner, list] : lists)
    if (owner == &rt) return list;
  return lists.emplace_back(&rt, std::vector<handle_set*>{}).second;
}

inline handle_set* acquire_handle_set(device_runtime& rt) {
  auto& list = free_handle_sets(rt);
  {
    const std::lock_guard lock(rt.mutex);
    if (!list.empty()) {
      handle_set* set = list.back();
      list.pop_back();
      return set;
    }
  }
  const device_scope scope(rt.device);
  auto set = std::make_unique<handle_set>();
  FERGEN_CUDA_CHECK(cublasCreate(&set->cublas));
  FERGEN_CUDA_CHECK(cublasSetStream(set->cublas, rt.stream));
  set->cublas_workspace = allocate(rt, cublas_workspace_bytes, "the cuBLAS workspace");
  FERGEN_CUDA_CHECK(cublasSetWorkspace(set->cublas, set->cublas_workspace, cublas_workspace_bytes));
  // Atomics would make some routines' sums depend on timing; off is cuBLAS' default, kept explicitly.
  FERGEN_CUDA_CHECK(cublasSetAtomicsMode(set->cublas, CUBLAS_ATOMICS_NOT_ALLOWED));
  return set.release();
}

inline void return_handle_set(device_runtime& rt, handle_set* set) noexcept {
  try {
    auto& list = free_handle_sets(rt);
    const std::lock_guard lock(rt.mutex);
    list.push_back(set);
  } catch (...) {
    // Out of memory while growing the free list: the handles leak, which is harmless.
  }
}

// What a context's resources point to: the device runtime and, once an op needs them, a handle set.
class context_handles {
 public:
  context_handles() = default;
  ~context_handles() {
    if (set_) return_handle_set(*runtime_, set_);
  }
  context_handles(const context_handles&) = delete;
  context_handles& operator=(const context_handles&) = delete;

  device_runtime& runtime() {
    if (!runtime_) runtime_ = &current_runtime();
    return *runtime_;
  }
  handle_set& handles() {
    if (!set_) set_ = acquire_handle_set(runtime());
    return *set_;
  }

 private:
  device_runtime* runtime_ = nullptr;
  handle_set* set_ = nullptr;
};

}  // namespace cuda_detail

// The resources of a context<cuda<float>>. The settings are plain fields, read by each op at the call:
//   allow_tf32     TF32 tensor cores in cuBLAS and cuDNN (about 1e-3 relative error). Off by default: results
//                  then agree with the CPU backend to float rounding, as PyTorch with allow_tf32 = False.
//   deterministic  convolutions only use cuDNN algorithms that give the same bits on every run (the other
//                  kernels of the backend always do); off admits faster non-deterministic ones.
//   use_cudnn      convolutions through cuDNN when the build has it (FERGEN_WITH_CUDNN), else im2col + cuBLAS.
//   workspace_limit   the most scratch memory one convolution may use, in bytes.
// The device is the one current when the context first computes; its stream is shared by every context on
// the device (see cuda_detail::device_runtime). Handles are made on first use; copies of a context share
// them, so give each host thread its own context.
class cuda_resources {
 public:
  bool allow_tf32 = false;
  bool deterministic = true;
  bool use_cudnn = FERGEN_WITH_CUDNN != 0;
  std::size_t workspace_limit = std::size_t{1} << 30;

  cuda_detail::device_runtime& runtime() { return shared_->runtime(); }
  cudaStream_t stream() { return runtime().stream; }
  int device() { return runtime().device; }

  cublasHandle_t cublas() { return shared_->handles().cublas; }

#if FERGEN_WITH_CUDNN
  cudnnHandle_t cudnn() {
    auto& set = shared_->handles();
    if (!set.cudnn) {
      const cuda_detail::device_scope scope(device());
      FERGEN_CUDA_CHECK(cudnnCreate(&set.cudnn));
      FERGEN_CUDA_CHECK(cudnnSetStream(set.cudnn, stream()));
    }
    return set.cudnn;
  }
#endif

  // Scratch memory of at least `bytes`, valid until the next call to scratch() through any copy of this
  // context. Kernels queued before a regrow still see the old block: the pool frees it in stream order.
  void* scratch(std::size_t bytes) {
    auto& set = shared_->handles();
    if (!set.scratch || set.scratch->bytes() < bytes) {
      // Grown by at least half again, so a sequence of slightly larger requests does not reallocate each time.
      const std::size_t grown = set.scratch ? set.scratch->bytes() + set.scratch->bytes() / 2 : 0;
      set.scratch.reset();  // first: the pool may reuse the old block for the new one
      set.scratch =
          std::make_unique<cuda_detail::device_allocation>(runtime(), std::max(bytes, grown), "scratch memory");
    }
    return set.scratch->get();
  }

  // Waits for everything queued on the device's stream.
  void synchronize() { FERGEN_CUDA_CHECK(cudaStreamSynchronize(stream())); }

 private:
  std::shared_ptr<cuda_detail::context_handles> shared_ = std::make_shared<cuda_detail::context_handles>();
};

// Computes in float on one NVIDIA GPU: cuBLAS products, cuDNN convolutions, fergen's kernels for the rest.
// Double precision stays on the CPU backend (gradient checks); cuda<double> is refused at compile time.
template <real T>
struct cuda {
  static_assert(std::same_as<T, float>,
                "cuda<T>: the CUDA backend computes in float only (fergen::cuda<float>); use cpu<double> for double");
  using value_type = T;
  using resources = cuda_resources;
  static constexpr std::string_view name = "cuda";
};

FERGEN_END_NAMESPACE
