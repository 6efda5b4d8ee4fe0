// fergen/backend/cpu/vector_clones.hpp: FERGEN_VECTOR_CLONES, for loops that compute more than they move.
//
// fergen is built without -march, so that one build runs on any x86-64 processor; a plain loop then gets SSE2's
// 4 float lanes. A function marked FERGEN_VECTOR_CLONES is compiled once per instruction set (AVX-512, AVX2 and
// the baseline) and the loader picks the widest the processor has (GCC's target_clones: an ifunc resolved when the
// program loads). SiLU's exponential on AVX-512 runs at 5x its SSE2 speed in the demo UNet's denoising step.
//
// GCC on x86-64 Linux only: Clang 14 clones no function template and defines an inline clone's resolver in every
// translation unit that uses it; nvcc's front end does not take the attribute. Elsewhere the functions are plain.
// The AVX-512 clone may fuse a * b + c into one FMA (GCC contracts by default), so the last bit of a result can
// depend on the processor, as oneDNN's kernels do; a machine always gives the same bits.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__) && defined(__linux__)
#define FERGEN_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FERGEN_VECTOR_CLONES
#endif
