// fergen/backend/cuda/tensor.hpp: the CUDA tensor, NCHW float device memory behind a shared handle.
#pragma once

#include <fergen/backend/cuda/cuda.hpp>
#include <fergen/backend/cuda/kernels/launch.cuh>
#include <fergen/core/error.hpp>
#include <fergen/core/shape.hpp>
#include <fergen/core/tensor.hpp>

#include <cmath>
#include <cstdint>
#include <memory>
#include <span>

FERGEN_BEGIN_NAMESPACE

// As the CPU tensor: copies share storage (like torch.Tensor), kernels never write into a tensor they did
// not create, only optimisers update parameters in place, clone() makes an independent copy. The memory is
// cudaMalloc'd device memory from the device's stream-ordered pool (see cuda_detail::device_runtime); every
// operation here runs on the device's stream, so it is ordered with the kernels of every context.
// copy_to and copy_from return once the transfer is complete: the host side may be reused at once.
template <>
class tensor<cuda<float>> {
 public:
  using backend = cuda<float>;
  using value_type = float;

  // Empty, and touches no device: a default-constructed tensor is only a placeholder.
  tensor() = default;

  // Zero-filled.
  explicit tensor(fergen::shape s) : tensor(uninitialized(s)) {
    if (size() > 0) FERGEN_CUDA_CHECK(cudaMemsetAsync(data(), 0, bytes(), storage_->runtime().stream));
  }

  // For kernels that overwrite every element: skips the zeroing pass.
  static tensor uninitialized(fergen::shape s) {
    require(s.valid(), "tensor: negative dimension in shape ", s);
    tensor t;
    t.shape_ = s;
    if (s.size() > 0) {
      auto& rt = cuda_detail::current_runtime();
      t.storage_ = std::make_shared<cuda_detail::device_allocation>(
          rt, static_cast<std::size_t>(s.size()) * sizeof(float), "tensor", &s);
    }
    return t;
  }

  static tensor full(fergen::shape s, float value) {
    tensor t = uninitialized(s);
    t.fill(value);
    return t;
  }

  static tensor from(std::span<const float> values, fergen::shape s) {
    tensor t = uninitialized(s);
    t.copy_from(values);
    return t;
  }

  fergen::shape shape() const { return shape_; }
  std::int64_t size() const { return shape_.size(); }
  bool empty() const { return size() == 0; }

  // Device pointers (null for an empty tensor): for kernels, not for the host to dereference.
  float* data() { return storage_ ? static_cast<float*>(storage_->get()) : nullptr; }
  const float* data() const { return storage_ ? static_cast<const float*>(storage_->get()) : nullptr; }

  // The stream every operation on this tensor's memory is ordered on.
  cudaStream_t stream() const { return storage_ ? storage_->runtime().stream : nullptr; }
  int device() const { return storage_ ? storage_->runtime().device : -1; }

  void fill(float value) {
    if (empty()) return;
    if (value == 0.0f && !std::signbit(value)) {
      FERGEN_CUDA_CHECK(cudaMemsetAsync(data(), 0, bytes(), stream()));
      return;
    }
    ops::cuda_kernels::fill(stream(), data(), size(), value);
  }

  void copy_to(std::span<float> out) const {
    require(static_cast<std::int64_t>(out.size()) == size(), "tensor::copy_to: destination holds ", out.size(),
            " values, tensor ", shape(), " has ", size());
    if (empty()) return;
    FERGEN_CUDA_CHECK(cudaMemcpyAsync(out.data(), data(), bytes(), cudaMemcpyDeviceToHost, stream()));
    FERGEN_CUDA_CHECK(cudaStreamSynchronize(stream()));
  }
  void copy_from(std::span<const float> in) {
    require(static_cast<std::int64_t>(in.size()) == size(), "tensor::copy_from: source holds ", in.size(),
            " values, tensor ", shape(), " has ", size());
    if (empty()) return;
    FERGEN_CUDA_CHECK(cudaMemcpyAsync(data(), in.data(), bytes(), cudaMemcpyHostToDevice, stream()));
    // The caller may overwrite or free `in` as soon as this returns (pinned memory is copied truly
    // asynchronously).
    FERGEN_CUDA_CHECK(cudaStreamSynchronize(stream()));
  }

  tensor clone() const {
    tensor t = uninitialized(shape_);
    t.copy_device(*this);
    return t;
  }

  // Same values under another shape of equal size (a copy, as on the CPU, where shapes are part of the
  // storage: a writer of one can never change the other).
  tensor reshaped(fergen::shape s) const {
    require(s.valid() && s.size() == size(), "tensor::reshaped: cannot view ", shape(), " (", size(), " values) as ",
            s);
    tensor t = uninitialized(s);
    t.copy_device(*this);
    return t;
  }

  bool shares_storage_with(const tensor& other) const { return storage_ == other.storage_; }

 private:
  std::size_t bytes() const { return static_cast<std::size_t>(size()) * sizeof(float); }

  void copy_device(const tensor& from) {
    if (empty()) return;
    FERGEN_CUDA_CHECK(cudaMemcpyAsync(data(), from.data(), bytes(), cudaMemcpyDeviceToDevice, stream()));
  }

  fergen::shape shape_{0, 0, 0, 0};
  std::shared_ptr<cuda_detail::device_allocation> storage_;
};

using cuda_tensor = tensor<cuda<float>>;

FERGEN_END_NAMESPACE
