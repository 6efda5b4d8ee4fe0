// fergen/fergen.hpp: the whole CPU library in one include.
//
// fergen builds synthetic facial-expression databases with a class-conditional diffusion model and judges
// them with VGG-16, ResNet-50 and Inception-V3. This header brings in every CPU layer of the library; CUDA
// translation units (nvcc, FERGEN_WITH_CUDA) include fergen/cuda.hpp, which adds the CUDA backend to it.
// docs/ARCHITECTURE.md is the map.
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

// data: images, resizing, datasets and their loaders, the procedural faces, splits, the batch loader
#include <fergen/core/zip.hpp>
#include <fergen/data/augmentation_policy.hpp>
#include <fergen/data/batch_loader.hpp>
#include <fergen/data/casme2.hpp>
#include <fergen/data/casme2_sheet.hpp>
#include <fergen/data/color.hpp>
#include <fergen/data/csv.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/error_policy.hpp>
#include <fergen/data/face_model.hpp>
#include <fergen/data/image.hpp>
#include <fergen/data/image_folder.hpp>
#include <fergen/data/image_io.hpp>
#include <fergen/data/leakage.hpp>
#include <fergen/data/procedural_faces.hpp>
#include <fergen/data/resize.hpp>
#include <fergen/data/split.hpp>
#include <fergen/data/xlsx.hpp>

// augment: Keras ImageDataGenerator policies
#include <fergen/augment/affine.hpp>
#include <fergen/augment/compose.hpp>
#include <fergen/augment/fill_mode.hpp>
#include <fergen/augment/policies.hpp>
#include <fergen/augment/policy.hpp>
#include <fergen/augment/study.hpp>
#include <fergen/augment/transform.hpp>

// optim: optimisers, gradient clipping, weight averaging, learning-rate schedules
#include <fergen/optim/adam.hpp>
#include <fergen/optim/clip_grad_norm.hpp>
#include <fergen/optim/ema.hpp>
#include <fergen/optim/lr_schedule.hpp>
#include <fergen/optim/sgd.hpp>

// models: VGG, ResNet and Inception-V3 (torchvision's), the gray input path, loading pretrained weights
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

// eval: classification metrics, the classifier training loop, predictions
#include <fergen/eval/classification_metrics.hpp>
#include <fergen/eval/classifier_input.hpp>
#include <fergen/eval/predict.hpp>
#include <fergen/eval/train_classifier.hpp>
// models and diffusion: the DDPM UNet, the diffusion process, training and generation
#include <fergen/models/denoiser.hpp>
#include <fergen/models/mlp_denoiser.hpp>
#include <fergen/models/unet.hpp>
#include <fergen/models/unet_blocks.hpp>
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
#include <fergen/diffusion/sampler.hpp>
#include <fergen/diffusion/timesteps.hpp>
#include <fergen/diffusion/train.hpp>
#include <fergen/diffusion/trainer.hpp>

// eval: the synthetic database's quality (FID, KID, manifold precision/recall, memorisation)
#include <fergen/eval/feature_matrix.hpp>
#include <fergen/eval/frechet_distance.hpp>
#include <fergen/eval/kernel_distance.hpp>
#include <fergen/eval/manifold_precision_recall.hpp>
#include <fergen/eval/memorization.hpp>
#include <fergen/eval/pixel_features.hpp>

// report and experiment: the study's grid, runner, results and report
#include <fergen/report/base64.hpp>
#include <fergen/report/canvas.hpp>
#include <fergen/report/class_grid_figure.hpp>
#include <fergen/report/confusion_figure.hpp>
#include <fergen/report/html.hpp>
#include <fergen/report/markdown.hpp>
#include <fergen/report/svg_chart.hpp>
#include <fergen/experiment/aggregate.hpp>
#include <fergen/experiment/folds.hpp>
#include <fergen/experiment/published_results.hpp>
#include <fergen/experiment/report.hpp>
#include <fergen/experiment/results_json.hpp>
#include <fergen/experiment/study_axes.hpp>
#include <fergen/experiment/study_plan.hpp>
#include <fergen/experiment/study_presets.hpp>
#include <fergen/experiment/study_results.hpp>
#include <fergen/experiment/study_runner.hpp>
#include <fergen/experiment/study_services.hpp>
