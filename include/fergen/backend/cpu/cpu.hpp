// fergen/backend/cpu/cpu.hpp: the CPU backend policy.
#pragma once

#include <fergen/backend/backend.hpp>
#include <fergen/backend/cpu/kernels.hpp>

FERGEN_BEGIN_NAMESPACE

// Computes in T (float for work, double for gradient checks) with xtensor storage, OpenBLAS or oneDNN products and
// convolutions (backend/cpu/kernels.hpp), and fergen's threads (core/parallel.hpp).
template <real T>
struct cpu {
  using value_type = T;
  struct resources {
    cpu_kernels kernels = default_cpu_kernels();  // oneDNN's kernels or the reference path (kernels.hpp)
  };
  static constexpr std::string_view name = "cpu";
};

FERGEN_END_NAMESPACE
