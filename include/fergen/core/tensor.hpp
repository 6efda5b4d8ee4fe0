// fergen/core/tensor.hpp: the tensor template every backend specialises.
#pragma once

#include <fergen/config.hpp>
#include <fergen/core/traits.hpp>

FERGEN_BEGIN_NAMESPACE

// tensor<Backend> is a 4-D NCHW array living where the backend computes. Each backend specialises it
// (backend/cpu/tensor.hpp over xtensor; the CUDA backend over device memory). Every specialisation offers:
//   tensor(shape)                 zero-filled          tensor::uninitialized(shape)
//   shape(), size(), empty()      copy_to(span<T>), copy_from(span<const T>): host transfers
//   full(shape, value)            clone(): a deep copy; plain copies share storage, as torch.Tensor does, so a
//                                 layer keeps its input for backward without copying it
template <class Backend>
class tensor {
  static_assert(always_false<Backend>,
                "tensor: no tensor type for this backend; the CPU one is in fergen/backend/cpu/tensor.hpp, "
                "CUDA needs nvcc and FERGEN_WITH_CUDA");
};

FERGEN_END_NAMESPACE
