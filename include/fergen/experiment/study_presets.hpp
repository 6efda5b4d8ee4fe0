// fergen/experiment/study_presets.hpp: complete study set-ups by name: the grid, the generator and the
// classifiers. `paper` is the study's sizes (a GPU's work), `demo` what a 2-core CPU does in minutes, `smoke`
// the smallest run that exercises every path (the test suite's).
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/procedural_faces.hpp>
#include <fergen/experiment/study_plan.hpp>
#include <fergen/models/backbone_names.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

// The diffusion model of a study: a diffusion preset (diffusion/presets.hpp) with the run's length and output.
struct generator_settings {
  std::string preset = "study";     // diffusion::presets::by_name: network, process, optimiser, sampler
  std::int64_t image_size = 48;     // frames are resized to this (the study: 48x48)
  std::int64_t steps = 0;           // training steps; 0: the preset's
  double epochs = 0;                // > 0: as many steps as this many passes over the frames each generator
                                    // learns, so that a generator of more frames trains longer; steps, if set,
                                    // is then the least
  std::int64_t batch = 0;           // 0: the preset's
  std::int64_t base_channels = 0;   // 0: the preset's
  std::int64_t sampling_steps = 0;  // 0: the preset's
  bool study_counts = false;        // the study's Table 2 counts per class (15,464 images)
  std::int64_t per_class = 0;       // otherwise this many images of every class; 0: as many as the real frames
  std::int64_t grid_per_class = 8;  // columns of the sample grid

  // The steps of a generator that learns `frames` frames, `per_step` images a step; preset_steps: its preset's.
  std::int64_t training_steps(std::int64_t frames, std::int64_t per_step, std::int64_t preset_steps) const {
    if (epochs > 0)
      return std::max<std::int64_t>(
          std::max<std::int64_t>(1, steps),
          static_cast<std::int64_t>(std::ceil(epochs * static_cast<double>(frames) / static_cast<double>(per_step))));
    return steps > 0 ? steps : preset_steps;
  }
};

// A backbone's own training settings, where the classifiers' shared ones do not suit it (0 or a negative value:
// the shared one).
struct backbone_tuning {
  std::string backbone;          // vgg16, resnet50, inception_v3
  std::int64_t input_size = 0;
  std::int64_t batch = 0;
  double lr = 0;
  double dropout = -1;
};

// The classifiers of a study.
struct classifier_settings {
  std::string size = "full";      // models::backbone_size: full (torchvision) or small
  std::int64_t input_size = 160;  // the study: 48 -> 160
  std::int64_t in_channels = 1;   // 1: gray frames with ImageNet's normalisation folded into the first
                                  // convolution (equal to replicating to RGB; cheaper); 3: replicated RGB
  std::int64_t epochs = 10;
  std::int64_t batch = 32;
  std::string optimizer = "adam";
  double lr = 1e-4;
  double warmup_epochs = 0;
  std::string schedule = "cosine";  // eval::lr_decay
  double freeze_fraction = 0.3;     // what the freeze30 configuration freezes
  double dropout = 0.5;             // before the head (VGG's classifier, Inception's pool); torchvision's 0.5
  std::vector<backbone_tuning> tuning;  // per backbone, over the settings above

  // The settings the named backbone trains with: the shared ones with its tuning applied.
  classifier_settings for_backbone(std::string_view name) const {
    classifier_settings c = *this;
    c.tuning.clear();
    for (const backbone_tuning& t : tuning) {
      if (t.backbone != name) continue;
      if (t.input_size > 0) c.input_size = t.input_size;
      if (t.batch > 0) c.batch = t.batch;
      if (t.lr > 0) c.lr = t.lr;
      if (t.dropout >= 0) c.dropout = t.dropout;
    }
    return c;
  }
  // The input size a backbone trains at (these settings already for_backbone): input_size, raised to the smallest
  // the backbone accepts.
  std::int64_t input_for(models::backbone b) const {
    return std::max(input_size, models::min_input_size(b, models::parse_backbone_size(size)));
  }
  // A setting given for every backbone replaces their tunings of it.
  void set_input_size(std::int64_t v) {
    input_size = v;
    for (auto& t : tuning) t.input_size = 0;
  }
  void set_batch(std::int64_t v) {
    batch = v;
    for (auto& t : tuning) t.batch = 0;
  }
  void set_lr(double v) {
    lr = v;
    for (auto& t : tuning) t.lr = 0;
  }
};

struct study_preset {
  std::string name;
  std::string description;
  study_plan plan;
  generator_settings generator;
  classifier_settings classifier;
  data::procedural_options faces;  // the real data when no other source is given
  std::string feature_backbone;    // the quality metrics' feature space; empty: the plan's first backbone
};

namespace study_presets {

// The study as published: 48x48 generator, 15,464 images with Table 2's counts, torchvision's backbones at
// 160x160, three configurations, five trials, four settings; under the study's protocol and LOSO.
inline study_preset paper() {
  study_preset p;
  p.name = "paper";
  p.description = "the study's sizes: 48x48 generator, 15,464 images (Table 2), full backbones at 160x160, 5 trials";
  p.plan.configs = {configuration::baseline, configuration::augment, configuration::freeze30};
  p.plan.protocols = {protocol::random, protocol::loso};
  p.plan.trials = 5;
  p.plan.generator_folds = 5;  // LOSO's 26 folds share 5 generators, each blind to the subjects of its folds
  p.generator.preset = "study";
  p.generator.image_size = 48;
  p.generator.study_counts = true;
  p.classifier.size = "full";
  p.classifier.input_size = 160;
  p.classifier.epochs = 10;
  p.faces.subjects = 26;
  p.faces.size = 48;
  p.faces.casme_imbalance = true;
  p.faces.clips_per_class = 2;
  return p;
}

// What `fergen demo` runs on a 2-core CPU in under 10 minutes (8.3 with oneDNN): the procedural faces of 4 subjects at 32x32, the
// generator's own size (trained on a 32x32 generator's images, upsampled, VGG-16 small recognised 23% of held-out
// subjects' frames at 48x48 and 37% of the same frames at 32x32, where the real frames taught it 36%:
// docs/generator_recipes.md), a small UNet trained for a few hundred steps per generator (three generators: the
// random protocol's and two shared by LOSO's four folds), the small backbones at 48x48 (the frames upsampled: at
// 32x32 they end on maps too small to learn from; Inception at 107x107), one trial of the baseline,
// under the study's protocol and LOSO.
inline study_preset demo() {
  study_preset p;
  p.name = "demo";
  p.description = "a 2-core CPU in minutes: 4 procedural subjects, 32x32 generator, small backbones, 1 trial";
  p.plan.protocols = {protocol::random, protocol::loso};
  p.plan.trials = 1;
  p.plan.generator_folds = 2;  // LOSO's 4 folds share 2 generators, each blind to 2 subjects
  p.generator.preset = "demo";
  p.generator.image_size = 32;
  // Generators train in passes over the frames they learn: the random protocol's learns twice the frames of a
  // LOSO one and gets twice the steps. 160 passes (990 steps for the random protocol's, 500 and 550 for LOSO's)
  // and 80 images per class: CAS 0.75 under the random split where 110 passes and 60 images gave 0.65 (oneDNN's
  // convolutions made the steps twice as cheap; README "What the demo shows"); 200 passes and 100 images gave 0.79
  // but ran 471-587 s on the development VM, too close to 10 minutes. At least 500 steps (LOSO's
  // generators at 300-380 steps taught 20% of the held-out subjects' frames, at 500 steps 30%).
  p.generator.steps = 500;
  p.generator.epochs = 160;
  p.generator.per_class = 80;
  p.generator.sampling_steps = 20;
  p.generator.grid_per_class = 6;
  p.classifier.size = "small";
  p.classifier.input_size = 48;
  p.classifier.epochs = 20;
  p.classifier.batch = 16;
  p.classifier.lr = 5e-3;
  p.classifier.warmup_epochs = 0.5;
  // VGG-16 small does not fit its training frames above 1e-3. Inception-V3 small at 107x107 (Mixed_7 on 2x2 maps)
  // with batches of 16 and without the dropout before its narrow head (256 features) learns more of held-out
  // subjects than at its minimum, 75x75 (31.8% against 13.8% from one synthetic set: docs/generator_recipes.md),
  // and reaches 90.8% under the random split where 75x75 gave 86.2%; about 30 s more over the demo with oneDNN.
  p.classifier.tuning = {{.backbone = "vgg16", .lr = 1e-3},
                         {.backbone = "inception_v3", .input_size = 107, .batch = 16, .dropout = 0}};
  p.faces.subjects = 4;
  p.faces.clips_per_class = 1;
  p.faces.size = 32;
  p.feature_backbone = "resnet50";  // the cheapest small backbone to train (half of VGG-16's time)
  return p;
}

// The smallest run through every path (generators, four settings, both protocols, quality, report): the
// tool's test.
inline study_preset smoke() {
  study_preset p = demo();
  p.name = "smoke";
  p.description = "every path in seconds: 3 procedural subjects, tiny generator and classifiers";
  p.plan.backbones = {"vgg16", "resnet50"};
  p.generator.steps = 20;
  p.generator.epochs = 0;
  p.generator.base_channels = 8;
  p.generator.image_size = 16;
  p.generator.per_class = 4;
  p.generator.sampling_steps = 4;
  p.generator.grid_per_class = 4;
  p.plan.generator_folds = 2;  // 3 LOSO folds: generators of 1 and 2 folds
  p.classifier.input_size = 32;
  p.classifier.epochs = 1;
  p.classifier.batch = 32;
  p.faces.subjects = 3;
  p.faces.min_frames = 4;
  p.faces.max_frames = 5;
  p.faces.size = 32;
  return p;
}

inline study_preset by_name(std::string_view name) {
  if (name == "paper") return paper();
  if (name == "demo") return demo();
  if (name == "smoke") return smoke();
  fail("unknown study preset '", name, "' (known: demo, paper, smoke)");
}

}  // namespace study_presets
}  // namespace experiment
FERGEN_END_NAMESPACE
