// fergen/backend/cuda/transfer.hpp: tensors between the host (cpu<float>) and the device (cuda<float>).
#pragma once

#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/backend/cuda/tensor.hpp>

#include <concepts>

FERGEN_BEGIN_NAMESPACE

// A device copy of a host tensor.
inline tensor<cuda<float>> to_device(const tensor<cpu<float>>& t) {
  return tensor<cuda<float>>::from(t.values(), t.shape());
}

// A host copy of a device tensor (waits for the kernels that write it).
inline tensor<cpu<float>> to_host(const tensor<cuda<float>>& t) {
  tensor<cpu<float>> out = tensor<cpu<float>>::uninitialized(t.shape());
  t.copy_to(out.values());
  return out;
}

// The tensor on backend To: a copy across devices, or clone() when it is already there. For code generic
// over the backend (load data on the host, compute where the network lives).
template <class To, class From>
tensor<To> to_backend(const tensor<From>& t) {
  if constexpr (std::same_as<To, From>) {
    return t.clone();
  } else if constexpr (std::same_as<To, cuda<float>> && std::same_as<From, cpu<float>>) {
    return to_device(t);
  } else if constexpr (std::same_as<To, cpu<float>> && std::same_as<From, cuda<float>>) {
    return to_host(t);
  } else {
    static_assert(always_false<To, From>, "to_backend: only float tensors move between cpu<float> and cuda<float>");
  }
}

FERGEN_END_NAMESPACE
