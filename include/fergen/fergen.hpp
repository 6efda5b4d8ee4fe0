// fergen/fergen.hpp: the whole CPU library in one include.
//
// fergen builds synthetic facial-expression databases with a class-conditional diffusion model and judges
// them with VGG-16, ResNet-50 and Inception-V3. This header brings in every CPU layer of the library; CUDA
// translation units (nvcc, FERGEN_WITH_CUDA) include fergen/cuda.hpp, which adds the CUDA backend to it.
// docs/ARCHITECTURE.md is the map.
#pragma once

#include <fergen/config.hpp>

// core, backend, nn, optim, models, diffusion: the networks and what trains and samples them
#include <fergen/networks.hpp>

// data: images, resizing, datasets and their loaders, the procedural faces, splits, the batch loader
#include <fergen/core/zip.hpp>
#include <fergen/data/augmentation_policy.hpp>
#include <fergen/data/batch_loader.hpp>
#include <fergen/data/casme2.hpp>
#include <fergen/data/casme2_sheet.hpp>
#include <fergen/data/color.hpp>
#include <fergen/data/csv.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/dataset_view.hpp>
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

// eval: classification metrics, the classifier training loop, predictions
#include <fergen/eval/classification_metrics.hpp>
#include <fergen/eval/classifier_input.hpp>
#include <fergen/eval/predict.hpp>
#include <fergen/eval/train_classifier.hpp>
// eval: the synthetic database's quality (FID, KID, manifold precision/recall, memorisation)
#include <fergen/eval/feature_matrix.hpp>
#include <fergen/eval/frechet_distance.hpp>
#include <fergen/eval/kernel_distance.hpp>
#include <fergen/eval/manifold_precision_recall.hpp>
#include <fergen/eval/memorization.hpp>
#include <fergen/eval/pixel_features.hpp>

// report and experiment: the study's grid, runner, results and report; the judge of one synthetic set
#include <fergen/report/base64.hpp>
#include <fergen/report/canvas.hpp>
#include <fergen/report/class_grid_figure.hpp>
#include <fergen/report/confusion_figure.hpp>
#include <fergen/report/html.hpp>
#include <fergen/report/markdown.hpp>
#include <fergen/report/svg_chart.hpp>
#include <fergen/experiment/aggregate.hpp>
#include <fergen/experiment/cas.hpp>
#include <fergen/experiment/folds.hpp>
#include <fergen/experiment/generator_store.hpp>
#include <fergen/experiment/judge.hpp>
#include <fergen/experiment/judge_json.hpp>
#include <fergen/experiment/judge_services.hpp>
#include <fergen/experiment/published_results.hpp>
#include <fergen/experiment/report.hpp>
#include <fergen/experiment/results_json.hpp>
#include <fergen/experiment/study_axes.hpp>
#include <fergen/experiment/study_counts.hpp>
#include <fergen/experiment/study_estimate.hpp>
#include <fergen/experiment/study_manifest.hpp>
#include <fergen/experiment/study_merge.hpp>
#include <fergen/experiment/study_plan.hpp>
#include <fergen/experiment/study_presets.hpp>
#include <fergen/experiment/study_results.hpp>
#include <fergen/experiment/study_runner.hpp>
#include <fergen/experiment/study_services.hpp>
#include <fergen/experiment/study_shards.hpp>
#include <fergen/experiment/study_work.hpp>
#include <fergen/experiment/synthetic_quality.hpp>
