// fergen/experiment/published_results.hpp: the reference study's published accuracies (its Tables 3-14), the
// figures fergen's reports set beside its own. A copy of the same data is docs/study/published_results.csv;
// a test checks the two agree and that every printed average is the mean of its five trials.
#pragma once

#include <fergen/experiment/study_axes.hpp>

#include <array>
#include <optional>
#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

// One row of one of the study's tables: accuracies in percent, as printed. Every row of the study is
// protocol `random` (its 80/20 frame-level split).
struct published_row {
  int table;
  setting data_setting;
  configuration config;
  std::string_view backbone;
  std::array<double, 5> trials;
  double average;
};

inline constexpr std::array<published_row, 36> published_results{{
    {3, setting::real_real, configuration::baseline, "vgg16", {99.13, 99.35, 99.30, 99.42, 99.46}, 99.33},
    {3, setting::real_real, configuration::baseline, "resnet50", {85.62, 86.49, 90.17, 89.42, 89.98}, 88.34},
    {3, setting::real_real, configuration::baseline, "inception_v3", {98.16, 99.32, 99.45, 99.23, 99.39}, 99.11},
    {4, setting::synth_synth, configuration::baseline, "vgg16", {98.91, 99.11, 99.28, 97.34, 98.66}, 98.66},
    {4, setting::synth_synth, configuration::baseline, "resnet50", {98.17, 98.58, 99.15, 98.25, 99.34}, 98.70},
    {4, setting::synth_synth, configuration::baseline, "inception_v3", {98.73, 99.32, 99.42, 98.64, 99.36}, 99.09},
    {5, setting::real_synth, configuration::baseline, "vgg16", {98.93, 99.33, 97.74, 99.25, 99.40}, 98.93},
    {5, setting::real_synth, configuration::baseline, "resnet50", {98.31, 99.35, 99.55, 99.40, 99.60}, 99.24},
    {5, setting::real_synth, configuration::baseline, "inception_v3", {99.36, 99.56, 99.54, 99.43, 99.46}, 99.47},
    {6, setting::synth_real, configuration::baseline, "vgg16", {94.79, 97.55, 98.37, 94.44, 98.74}, 96.78},
    {6, setting::synth_real, configuration::baseline, "resnet50", {99.42, 99.46, 99.51, 98.66, 99.33}, 99.28},
    {6, setting::synth_real, configuration::baseline, "inception_v3", {99.48, 99.50, 99.55, 99.38, 99.47}, 99.48},
    {7, setting::real_real, configuration::augment, "vgg16", {92.47, 98.04, 98.42, 98.56, 98.66}, 97.23},
    {7, setting::real_real, configuration::augment, "resnet50", {99.07, 99.18, 99.39, 99.50, 98.87}, 99.20},
    {7, setting::real_real, configuration::augment, "inception_v3", {94.69, 99.19, 99.60, 99.55, 99.52}, 98.51},
    {8, setting::synth_synth, configuration::augment, "vgg16", {92.51, 95.46, 96.29, 97.52, 96.88}, 95.73},
    {8, setting::synth_synth, configuration::augment, "resnet50", {98.77, 98.90, 99.13, 99.22, 99.15}, 99.03},
    {8, setting::synth_synth, configuration::augment, "inception_v3", {95.61, 99.00, 99.27, 99.33, 99.47}, 98.54},
    {9, setting::real_synth, configuration::augment, "vgg16", {98.32, 97.82, 98.86, 98.16, 98.94}, 98.42},
    {9, setting::real_synth, configuration::augment, "resnet50", {99.63, 99.51, 99.40, 99.59, 99.58}, 99.54},
    {9, setting::real_synth, configuration::augment, "inception_v3", {99.35, 99.42, 99.44, 99.55, 99.67}, 99.49},
    {10, setting::synth_real, configuration::augment, "vgg16", {97.37, 98.39, 98.53, 98.48, 99.12}, 98.38},
    {10, setting::synth_real, configuration::augment, "resnet50", {98.12, 99.22, 99.30, 99.35, 99.35}, 99.07},
    {10, setting::synth_real, configuration::augment, "inception_v3", {99.36, 97.79, 99.44, 99.44, 99.50}, 99.11},
    {11, setting::real_real, configuration::freeze30, "vgg16", {98.65, 95.78, 92.04, 97.57, 98.54}, 96.52},
    {11, setting::real_real, configuration::freeze30, "resnet50", {86.76, 90.65, 93.92, 96.65, 98.05}, 93.21},
    {11, setting::real_real, configuration::freeze30, "inception_v3", {98.38, 99.40, 98.20, 99.40, 99.56}, 98.99},
    {12, setting::synth_synth, configuration::freeze30, "vgg16", {92.65, 95.69, 99.02, 99.36, 99.34}, 97.21},
    {12, setting::synth_synth, configuration::freeze30, "resnet50", {96.44, 97.56, 97.72, 97.88, 97.90}, 97.50},
    {12, setting::synth_synth, configuration::freeze30, "inception_v3", {98.87, 99.46, 99.50, 99.57, 98.31}, 99.14},
    {13, setting::real_synth, configuration::freeze30, "vgg16", {99.15, 99.29, 99.07, 99.52, 99.59}, 99.32},
    {13, setting::real_synth, configuration::freeze30, "resnet50", {98.06, 99.39, 99.47, 99.52, 99.55}, 99.20},
    {13, setting::real_synth, configuration::freeze30, "inception_v3", {99.30, 99.41, 99.47, 99.50, 99.53}, 99.44},
    {14, setting::synth_real, configuration::freeze30, "vgg16", {98.57, 93.67, 98.24, 93.85, 98.26}, 96.52},
    {14, setting::synth_real, configuration::freeze30, "resnet50", {97.90, 99.29, 97.71, 99.20, 99.27}, 98.67},
    {14, setting::synth_real, configuration::freeze30, "inception_v3", {99.51, 99.52, 99.50, 99.55, 99.57}, 99.53},
}};

// The study's table for a setting and configuration (Table 3 = real-real baseline ... Table 14 =
// synth-real freeze30).
inline int published_table(setting s, configuration c) {
  for (const auto& r : published_results)
    if (r.data_setting == s && r.config == c) return r.table;
  return 0;
}

// The published row for a cell of the grid, if the study has one (it has one for every backbone, setting
// and configuration fergen runs).
inline std::optional<published_row> published(setting s, configuration c, std::string_view backbone) {
  for (const auto& r : published_results)
    if (r.data_setting == s && r.config == c && r.backbone == backbone) return r;
  return std::nullopt;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
