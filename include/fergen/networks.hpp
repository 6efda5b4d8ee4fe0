// fergen/networks.hpp: the layers and what is built of them, without the data and study layers: core, the CPU
// backend, nn, optim, the models (backbones and the diffusion UNet) and diffusion (process, training,
// generation). fergen.hpp adds data loading, augmentation, evaluation and the study to it; cuda_networks.hpp adds
// the CUDA backend. A translation unit that only builds and trains networks parses half as much through it
// (nvcc parses every translation unit twice, so its CUDA translation units include cuda_networks.hpp).
#pragma once

#include <fergen/config.hpp>

// core: shapes, tensors, errors, randomness, parallel loops, array files
#include <fergen/core/error.hpp>
#include <fergen/core/npy.hpp>
#include <fergen/core/npz.hpp>
#include <fergen/core/parallel.hpp>
#include <fergen/core/rng.hpp>
#include <fergen/core/tensor_npy.hpp>
#include <fergen/core/shape.hpp>
#include <fergen/core/shard.hpp>
#include <fergen/core/tensor.hpp>
#include <fergen/core/traits.hpp>

// backend: the CPU policy, its tensor, and the ops
#include <fergen/backend/backend.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/cpu.hpp>
#include <fergen/backend/cpu/tensor.hpp>

// nn: layers, composites, parameters, losses, weights
#include <fergen/nn/activation.hpp>
#include <fergen/nn/adaptive_avg_pool2d.hpp>
#include <fergen/nn/avg_pool2d.hpp>
#include <fergen/nn/batch_norm2d.hpp>
#include <fergen/nn/concat.hpp>
#include <fergen/nn/conv2d.hpp>
#include <fergen/nn/dropout.hpp>
#include <fergen/nn/embedding.hpp>
#include <fergen/nn/fast_silu.hpp>
#include <fergen/nn/flatten.hpp>
#include <fergen/nn/freeze.hpp>
#include <fergen/nn/group_norm.hpp>
#include <fergen/nn/identity.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/layer.hpp>
#include <fergen/nn/linear.hpp>
#include <fergen/nn/losses.hpp>
#include <fergen/nn/max_pool2d.hpp>
#include <fergen/nn/named.hpp>
#include <fergen/nn/parameter.hpp>
#include <fergen/nn/parameters.hpp>
#include <fergen/nn/repeat.hpp>
#include <fergen/nn/residual.hpp>
#include <fergen/nn/self_attention.hpp>
#include <fergen/nn/sequential.hpp>
#include <fergen/nn/state_dict.hpp>
#include <fergen/nn/upsample_nearest.hpp>

// optim: optimisers, gradient clipping, weight averaging, learning-rate schedules
#include <fergen/optim/adam.hpp>
#include <fergen/optim/clip_grad_norm.hpp>
#include <fergen/optim/ema.hpp>
#include <fergen/optim/lr_schedule.hpp>
#include <fergen/optim/sgd.hpp>

// models: VGG, ResNet and Inception-V3 (torchvision's), the gray input path, loading pretrained weights
#include <fergen/models/backbone_names.hpp>
#include <fergen/models/backbones.hpp>
#include <fergen/models/classifier.hpp>
#include <fergen/models/imagenet.hpp>
#include <fergen/models/inception.hpp>
#include <fergen/models/pretrained.hpp>
#include <fergen/models/resnet.hpp>
#include <fergen/models/vgg.hpp>
#include <fergen/nn/input_conv2d.hpp>
#include <fergen/nn/optional_layer.hpp>
#include <fergen/nn/visitor_ref.hpp>

// models and diffusion: the DDPM UNet, the diffusion process, training and generation
#include <fergen/models/denoiser.hpp>
#include <fergen/models/mlp_denoiser.hpp>
#include <fergen/models/unet.hpp>
#include <fergen/models/unet_blocks.hpp>
#include <fergen/models/unet_config.hpp>
#include <fergen/models/unet_presets.hpp>
#include <fergen/diffusion/beta_schedule.hpp>
#include <fergen/diffusion/checkpoint.hpp>
#include <fergen/diffusion/config.hpp>
#include <fergen/diffusion/ddim.hpp>
#include <fergen/diffusion/ddpm.hpp>
#include <fergen/diffusion/generate.hpp>
#include <fergen/diffusion/guidance.hpp>
#include <fergen/diffusion/image_tensors.hpp>
#include <fergen/diffusion/loss_weighting.hpp>
#include <fergen/diffusion/names.hpp>
#include <fergen/diffusion/noise_schedule.hpp>
#include <fergen/diffusion/parameterization.hpp>
#include <fergen/diffusion/presets.hpp>
#include <fergen/diffusion/dpm_solver.hpp>
#include <fergen/diffusion/sampler.hpp>
#include <fergen/diffusion/timesteps.hpp>
#include <fergen/diffusion/train.hpp>
#include <fergen/diffusion/trainer.hpp>
#include <fergen/diffusion/trainer_options.hpp>
