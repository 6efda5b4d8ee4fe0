// fergen/cuda.hpp: the CUDA backend (fergen::cuda<float>) on top of the whole CPU library.
//
// Include it (instead of, or after, fergen.hpp) in translation units compiled by nvcc in a build with
// FERGEN_WITH_CUDA=1 (CMake: link fergen::cuda): it brings the cuda<float> specialisation of every op, so
// every layer, composite, loss and optimiser of the library runs on the GPU with B = fergen::cuda<float>.
// Specialisations must be visible before a network is instantiated for cuda<float>: include this header
// before such code. A translation unit that only builds, trains and samples networks can include the lighter
// fergen/cuda_networks.hpp instead. docs/ARCHITECTURE.md, section "The CUDA backend", is the map.
#pragma once

#include <fergen/fergen.hpp>
#include <fergen/cuda_networks.hpp>
