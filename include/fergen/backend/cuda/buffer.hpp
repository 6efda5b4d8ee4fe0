// fergen/backend/cuda/buffer.hpp: a typed device array that is not a tensor (pooling indices, labels).
#pragma once

#include <fergen/backend/cuda/device.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

FERGEN_BEGIN_NAMESPACE

// `size()` values of T on the current device, uninitialised, shared by copies like a tensor. resize()
// replaces the storage when the size changes (the old values are not kept). to_host() copies back and waits.
template <class T>
class device_buffer {
  static_assert(std::is_trivially_copyable_v<T>, "device_buffer<T>: T must be trivially copyable");

 public:
  device_buffer() = default;
  explicit device_buffer(std::int64_t count) { resize(count); }

  void resize(std::int64_t count) {
    require(count >= 0, "device_buffer: negative size ", count);
    if (count == size_) return;
    storage_.reset();
    size_ = count;
    if (count > 0)
      storage_ = std::make_shared<cuda_detail::device_allocation>(
          cuda_detail::current_runtime(), static_cast<std::size_t>(count) * sizeof(T), "device buffer");
  }

  std::int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* data() { return storage_ ? static_cast<T*>(storage_->get()) : nullptr; }
  const T* data() const { return storage_ ? static_cast<const T*>(storage_->get()) : nullptr; }

  std::vector<T> to_host() const {
    std::vector<T> values(static_cast<std::size_t>(size_));
    if (size_ == 0) return values;
    const cudaStream_t stream = storage_->runtime().stream;
    FERGEN_CUDA_CHECK(
        cudaMemcpyAsync(values.data(), data(), values.size() * sizeof(T), cudaMemcpyDeviceToHost, stream));
    FERGEN_CUDA_CHECK(cudaStreamSynchronize(stream));
    return values;
  }

 private:
  std::int64_t size_ = 0;
  std::shared_ptr<cuda_detail::device_allocation> storage_;
};

FERGEN_END_NAMESPACE
