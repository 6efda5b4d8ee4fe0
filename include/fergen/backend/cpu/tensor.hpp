// fergen/backend/cpu/tensor.hpp: the CPU tensor, an NCHW xtensor container behind a shared handle.
#pragma once

#include <fergen/backend/cpu/cpu.hpp>
#include <fergen/backend/cpu/memory_pool.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/shape.hpp>
#include <fergen/core/tensor.hpp>

#include <xtensor/xtensor.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <span>

FERGEN_BEGIN_NAMESPACE

// Copies share storage (like torch.Tensor): layers keep their inputs for backward at no cost, and a
// network passes activations along without copying them. Kernels never write into a tensor they did not
// create; only optimisers update parameters in place. clone() makes an independent copy.
template <real T>
class tensor<cpu<T>> {
 public:
  using backend = cpu<T>;
  using value_type = T;
  // Memory from the backend's pool (memory_pool.hpp): a training step's tensors reuse the previous step's.
  using storage = xt::xtensor<T, 4, xt::layout_type::row_major, cpu_detail::pool_allocator<T>>;

  tensor() : tensor(uninitialized({0, 0, 0, 0})) {}

  // Zero-filled.
  explicit tensor(fergen::shape s) : tensor(uninitialized(s)) { fill(T{0}); }

  // For kernels that overwrite every element: skips the zeroing pass.
  static tensor uninitialized(fergen::shape s) {
    require(s.valid(), "tensor: negative dimension in shape ", s);
    return tensor(std::make_shared<storage>(
        storage::from_shape({static_cast<std::size_t>(s.n), static_cast<std::size_t>(s.c),
                             static_cast<std::size_t>(s.h), static_cast<std::size_t>(s.w)})));
  }

  static tensor full(fergen::shape s, T value) {
    tensor t = uninitialized(s);
    t.fill(value);
    return t;
  }

  static tensor from(std::span<const T> values, fergen::shape s) {
    tensor t = uninitialized(s);
    t.copy_from(values);
    return t;
  }

  fergen::shape shape() const {
    const auto& sh = storage_->shape();
    return {static_cast<std::int64_t>(sh[0]), static_cast<std::int64_t>(sh[1]), static_cast<std::int64_t>(sh[2]),
            static_cast<std::int64_t>(sh[3])};
  }
  std::int64_t size() const { return static_cast<std::int64_t>(storage_->size()); }
  bool empty() const { return storage_->size() == 0; }

  T* data() { return storage_->data(); }
  const T* data() const { return storage_->data(); }
  std::span<T> values() { return {data(), storage_->size()}; }
  std::span<const T> values() const { return {data(), storage_->size()}; }

  // The xtensor container, for expressions in kernels and tests.
  storage& xt() { return *storage_; }
  const storage& xt() const { return *storage_; }

  T& operator()(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
    return (*storage_)(static_cast<std::size_t>(n), static_cast<std::size_t>(c), static_cast<std::size_t>(h),
                       static_cast<std::size_t>(w));
  }
  const T& operator()(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) const {
    return (*storage_)(static_cast<std::size_t>(n), static_cast<std::size_t>(c), static_cast<std::size_t>(h),
                       static_cast<std::size_t>(w));
  }

  void fill(T value) { std::fill(storage_->begin(), storage_->end(), value); }

  void copy_to(std::span<T> out) const {
    require(out.size() == storage_->size(), "tensor::copy_to: destination holds ", out.size(),
            " values, tensor ", shape(), " has ", size());
    std::copy(storage_->begin(), storage_->end(), out.begin());
  }
  void copy_from(std::span<const T> in) {
    require(in.size() == storage_->size(), "tensor::copy_from: source holds ", in.size(), " values, tensor ",
            shape(), " has ", size());
    std::copy(in.begin(), in.end(), storage_->begin());
  }

  tensor clone() const { return tensor(std::make_shared<storage>(*storage_)); }

  // Same values under another shape of equal size (a copy: shapes are part of the storage).
  tensor reshaped(fergen::shape s) const {
    require(s.valid() && s.size() == size(), "tensor::reshaped: cannot view ", shape(), " (", size(),
            " values) as ", s);
    tensor t = uninitialized(s);
    std::copy(storage_->begin(), storage_->end(), t.storage_->begin());
    return t;
  }

  bool shares_storage_with(const tensor& other) const { return storage_ == other.storage_; }

 private:
  explicit tensor(std::shared_ptr<storage> s) : storage_(std::move(s)) {}
  std::shared_ptr<storage> storage_;
};

template <real T>
using cpu_tensor = tensor<cpu<T>>;

FERGEN_END_NAMESPACE
