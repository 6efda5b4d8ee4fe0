// fergen/config.hpp: version, build configuration and the macros every header relies on.
#pragma once

#define FERGEN_VERSION_MAJOR 0
#define FERGEN_VERSION_MINOR 1
#define FERGEN_VERSION_PATCH 0
#define FERGEN_VERSION_STRING "0.1.0"

// FERGEN_WITH_CUDA is set by the build (CMake option of the same name). The CPU build never needs CUDA.
#ifndef FERGEN_WITH_CUDA
#define FERGEN_WITH_CUDA 0
#endif

// FERGEN_WITH_CUDNN is set by the build when it found cuDNN: the CUDA backend's convolutions then use it
// (else, and on request, im2col + cuBLAS). Meaningless without FERGEN_WITH_CUDA.
#ifndef FERGEN_WITH_CUDNN
#define FERGEN_WITH_CUDNN 0
#endif

// True only while nvcc compiles a translation unit of a CUDA-enabled build: the CUDA kernels and the
// cuda<T> specialisations exist only then.
#if FERGEN_WITH_CUDA && defined(__CUDACC__)
#define FERGEN_CUDA_COMPILE 1
#else
#define FERGEN_CUDA_COMPILE 0
#endif

// Functions that must give the same bits on host and device (the counter-based RNG, schedule formulas).
#if defined(__CUDACC__)
#define FERGEN_HD __host__ __device__
#else
#define FERGEN_HD
#endif

// Every declaration lives in an inline namespace named after the version and the configuration, so that
// translation units built with different versions or with and without CUDA fail to link together instead
// of silently breaking the one-definition rule.
#if FERGEN_WITH_CUDA
#define FERGEN_ABI_NAMESPACE v0_cuda
#else
#define FERGEN_ABI_NAMESPACE v0
#endif

#define FERGEN_BEGIN_NAMESPACE \
  namespace fergen {           \
  inline namespace FERGEN_ABI_NAMESPACE {
#define FERGEN_END_NAMESPACE \
  }                          \
  }
