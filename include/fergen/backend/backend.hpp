// fergen/backend/backend.hpp: what a backend policy is, and the names of the backends.
#pragma once

#include <fergen/config.hpp>
#include <fergen/core/traits.hpp>

#include <concepts>
#include <string_view>

FERGEN_BEGIN_NAMESPACE

// Backends are types, not macros or run-time switches: a network is instantiated for one backend, and
// CPU and CUDA networks coexist in one program. Each backend is a tag template over its element type:
//   cpu<float>, cpu<double>   backend/cpu/cpu.hpp (xtensor + OpenBLAS + OpenMP)
//   cuda<float>               backend/cuda/cuda.hpp (cuBLAS, cuDNN and kernels; nvcc builds only)
// An op is a class template over the backend whose primary template only static_asserts, so using an op
// on a backend that lacks it fails at compile time with a sentence, not at run time.
template <real T>
struct cpu;
template <real T>
struct cuda;

// A backend names its element type and its per-context resources (CUDA: stream and library handles;
// CPU: nothing).
template <class B>
concept backend_policy = requires {
  typename B::value_type;
  typename B::resources;
  { B::name } -> std::convertible_to<std::string_view>;
} && real<typename B::value_type>;

FERGEN_END_NAMESPACE
