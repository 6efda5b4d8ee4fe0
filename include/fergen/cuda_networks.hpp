// fergen/cuda_networks.hpp: the CUDA backend (fergen::cuda<float>) on top of fergen/networks.hpp: every layer,
// composite, loss, optimiser, model and the diffusion process, training and generation, on the GPU, without the
// data and study layers. What a CUDA translation unit that builds and trains networks needs; nvcc parses each
// translation unit twice (host and device), so this saves about half of fergen/cuda.hpp's compile time (25 s
// instead of 53 s for the include alone). fergen/cuda.hpp is this plus fergen/fergen.hpp.
//
// Compile with nvcc in a build with FERGEN_WITH_CUDA=1 (CMake: link fergen::cuda). Specialisations must be
// visible before a network is instantiated for cuda<float>: include this header before such code.
#pragma once

#include <fergen/networks.hpp>

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
