// fergen/cuda.hpp: the CUDA backend (fergen::cuda<float>) on top of the whole CPU library.
//
// Include it (instead of, or after, fergen.hpp) in translation units compiled by nvcc in a build with
// FERGEN_WITH_CUDA=1 (CMake: link fergen::cuda): it brings the cuda<float> specialisation of every op, so
// every layer, composite, loss and optimiser of the library runs on the GPU with B = fergen::cuda<float>.
// Specialisations must be visible before a network is instantiated for cuda<float>: include this header
// before such code. docs/ARCHITECTURE.md, section "The CUDA backend", is the map.
#pragma once

#include <fergen/fergen.hpp>

#include <fergen/backend/cuda/activations.hpp>
#include <fergen/backend/cuda/arithmetic.hpp>
#include <fergen/backend/cuda/attention.hpp>
#include <fergen/backend/cuda/batch_norm.hpp>
#include <fergen/backend/cuda/blas.hpp>
#include <fergen/backend/cuda/buffer.hpp>
#include <fergen/backend/cuda/channel_affine.hpp>
#include <fergen/backend/cuda/channel_bias.hpp>
#include <fergen/backend/cuda/check.hpp>
#include <fergen/backend/cuda/conv2d.hpp>
#include <fergen/backend/cuda/cuda.hpp>
#include <fergen/backend/cuda/cudnn.hpp>
#include <fergen/backend/cuda/device.hpp>
#include <fergen/backend/cuda/diffusion_steps.hpp>
#include <fergen/backend/cuda/dropout.hpp>
#include <fergen/backend/cuda/embedding.hpp>
#include <fergen/backend/cuda/group_norm.hpp>
#include <fergen/backend/cuda/linear.hpp>
#include <fergen/backend/cuda/losses.hpp>
#include <fergen/backend/cuda/optimizer_steps.hpp>
#include <fergen/backend/cuda/pooling.hpp>
#include <fergen/backend/cuda/tensor.hpp>
#include <fergen/backend/cuda/timestep_embedding.hpp>
#include <fergen/backend/cuda/transfer.hpp>
#include <fergen/backend/cuda/upsample.hpp>
