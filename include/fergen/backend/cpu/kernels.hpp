// fergen/backend/cpu/kernels.hpp: which kernels the CPU backend runs: oneDNN's where the build has it, or the
// portable reference (OpenBLAS products, im2col and Winograd convolutions).
#pragma once

#include <fergen/config.hpp>

#include <atomic>
#include <cstdlib>
#include <string_view>

// FERGEN_WITH_DNNL is set by the build when it found oneDNN (Debian's libdnnl-dev; cmake/fergen-dependencies.cmake).
#ifndef FERGEN_WITH_DNNL
#define FERGEN_WITH_DNNL 0
#endif

// Whether the CPU backend compiles its oneDNN paths: not in CUDA builds (fergen::cuda), because nvcc's front end
// cannot parse oneDNN's C++ header (an internal error in <oneapi/dnnl/dnnl.hpp>), and a CUDA build's .cu and .cpp
// units share one ABI namespace (config.hpp), so they must see the same CPU kernels. CPU builds use oneDNN.
#if FERGEN_WITH_DNNL && !FERGEN_WITH_CUDA
#define FERGEN_CPU_ONEDNN 1
#else
#define FERGEN_CPU_ONEDNN 0
#endif

FERGEN_BEGIN_NAMESPACE

// Why a choice at all: the peer's convolutions are oneDNN's kernels generated for the processor at run time
// (AVX-512 where it has it), while OpenBLAS's kernel is whatever the machine's environment pins it to. oneDNN is the
// fast path; the reference path stays, because it is portable (double precision, builds without oneDNN) and
// because the tests check the fast path against it.
//   automatic    float products on oneDNN's sgemm; each float convolution on oneDNN's convolution primitives or on
//                Winograd / im2col over those products, whichever measured faster for its kind of problem
//                (cpu_onednn::prefers_primitive, backend/cpu/conv2d_onednn.hpp)
//   onednn       float products on oneDNN's sgemm, every float convolution on oneDNN's primitives
//   onednn_gemm  float products on oneDNN's sgemm, every convolution by Winograd / im2col over them
//   reference    OpenBLAS products, Winograd / im2col convolutions: what the tests compare the others against
// Builds without oneDNN and CUDA builds run the reference path whatever the choice; so does double precision.
enum class cpu_kernels { automatic, onednn, onednn_gemm, reference };

inline constexpr bool cpu_has_onednn = FERGEN_CPU_ONEDNN != 0;

namespace cpu_detail {
// FERGEN_CPU_KERNELS=reference (or onednn, onednn_gemm) in the environment sets the choice for a whole run without
// a rebuild (comparing results, timing the paths); unset or anything else leaves the automatic choice.
inline std::atomic<cpu_kernels>& default_kernels() {
  static std::atomic<cpu_kernels> choice{[] {
    const char* v = std::getenv("FERGEN_CPU_KERNELS");
    const std::string_view name = v ? v : "";
    if (name == "reference") return cpu_kernels::reference;
    if (name == "onednn") return cpu_kernels::onednn;
    if (name == "onednn_gemm") return cpu_kernels::onednn_gemm;
    return cpu_kernels::automatic;
  }()};
  return choice;
}
}  // namespace cpu_detail

// The choice new contexts start with (context<cpu<T>>::resources.kernels) and the one products called without a
// context use. Process-wide; a context can override it for the calls made with it.
inline cpu_kernels default_cpu_kernels() { return cpu_detail::default_kernels().load(std::memory_order_relaxed); }
inline void set_default_cpu_kernels(cpu_kernels k) { cpu_detail::default_kernels().store(k, std::memory_order_relaxed); }

// Whether a call with choice k runs float products on oneDNN's sgemm.
inline bool use_onednn_products(cpu_kernels k) { return cpu_has_onednn && k != cpu_kernels::reference; }

inline std::string_view to_string(cpu_kernels k) {
  switch (k) {
    case cpu_kernels::automatic: return "automatic";
    case cpu_kernels::onednn: return "onednn";
    case cpu_kernels::onednn_gemm: return "onednn_gemm";
    case cpu_kernels::reference: return "reference";
  }
  return "?";
}

FERGEN_END_NAMESPACE
