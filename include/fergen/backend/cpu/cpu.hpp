// fergen/backend/cpu/cpu.hpp: the CPU backend policy.
#pragma once

#include <fergen/backend/backend.hpp>

FERGEN_BEGIN_NAMESPACE

// Computes in T (float for work, double for gradient checks) with xtensor storage, OpenBLAS gemm and
// OpenMP loops.
template <real T>
struct cpu {
  using value_type = T;
  struct resources {};  // the CPU needs no stream or handle
  static constexpr std::string_view name = "cpu";
};

FERGEN_END_NAMESPACE
