// fergen/experiment/study_services.hpp: the study runner's services made of fergen's own parts: the
// class-conditional diffusion model as the generator, the three backbones as the classifiers, and a
// backbone trained on the real training frames as the feature space of the quality metrics.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/dataset_view.hpp>
#include <fergen/data/resize.hpp>
#include <fergen/diffusion/generate.hpp>
#include <fergen/diffusion/presets.hpp>
#include <fergen/diffusion/train.hpp>
#include <fergen/diffusion/trainer.hpp>
#include <fergen/eval/predict.hpp>
#include <fergen/eval/train_classifier.hpp>
#include <fergen/experiment/study_contract.hpp>
#include <fergen/experiment/study_counts.hpp>
#include <fergen/experiment/study_presets.hpp>
#include <fergen/models/backbones.hpp>
#include <fergen/models/pretrained.hpp>
#include <fergen/models/unet.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/parameters.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

struct service_options {
  generator_settings generator;
  classifier_settings classifier;
  std::string feature_backbone = "resnet50";  // the quality metrics' feature space
  std::filesystem::path pretrained;           // a folder of <backbone>.npz ImageNet weights; empty: from scratch
  bool verbose = false;                       // a line per classifier epoch
};

namespace detail {

// The frames as the generator sees them: gray, image_size x image_size. A copy of the generator's own, as its
// trainer reads a dataset (and most frames are resized).
inline data::dataset resized(const data::dataset_view& frames, std::int64_t size) {
  data::dataset out(frames.class_names());
  for (const auto& s : frames) {
    data::sample copy = s;
    if (copy.image.height != size || copy.image.width != size) copy.image = data::resize_bilinear(copy.image, size, size);
    out.add(std::move(copy));
  }
  return out;
}

// The diffusion preset of a study, sized to its frames. Attention stays at the preset's levels when the image
// size changes (as `fergen train-diffusion --size` does).
inline diffusion::preset generator_preset(const generator_settings& g, std::int64_t classes) {
  diffusion::preset p = diffusion::presets::by_name(g.preset, classes);
  std::vector<std::int64_t> attention_levels;
  for (std::int64_t level = 0; level < p.model.levels(); ++level)
    if (p.model.attention_at_level(level)) attention_levels.push_back(level);
  p.model.image_size = g.image_size;
  p.model.attention_resolutions.clear();
  for (const auto level : attention_levels) p.model.attention_resolutions.push_back(g.image_size >> level);
  if (g.base_channels > 0) p.model.base_channels = g.base_channels;
  if (g.batch > 0) p.trainer.batch = g.batch;
  if (g.sampling_steps > 0) p.sampler.steps = g.sampling_steps;
  p.model.classes = classes;
  p.model.image_channels = 1;
  p.model.validate();
  p.process.validate();
  p.trainer.validate();
  p.sampler.timesteps(p.process.schedule.timesteps);
  return p;
}

inline eval::train_options classifier_options(const classifier_settings& c, configuration config, std::int64_t input,
                                              std::uint64_t seed) {
  eval::train_options o;
  o.epochs = c.epochs;
  o.batch_size = c.batch;
  o.image_size = input;
  o.policy = config == configuration::augment ? eval::augmentation::study : eval::augmentation::none;
  o.optimizer = eval::parse_optimizer(c.optimizer);
  o.lr = c.lr;
  o.schedule = eval::parse_lr_decay(c.schedule);
  o.warmup_epochs = c.warmup_epochs;
  o.freeze_fraction = config == configuration::freeze30 ? c.freeze_fraction : 0.0;
  o.seed = seed;
  o.progress = nullptr;
  return o;
}

// Builds the named backbone for `classes` classes with the settings c (already tuned for it: for_backbone),
// initialised from the seed or with ImageNet weights from the pretrained folder (everything but the head), and
// calls f(net).
template <class B, class F>
decltype(auto) with_study_backbone(const std::string& name, const classifier_settings& c,
                                   const std::filesystem::path& pretrained, std::int64_t classes, std::uint64_t seed,
                                   F&& f) {
  const models::backbone b = models::parse_backbone(name);
  return models::with_backbone<B>(
      b, models::parse_backbone_size(c.size), {.num_classes = classes, .in_channels = c.in_channels, .dropout = c.dropout},
      [&](auto& net) {
        if (pretrained.empty()) {
          nn::initialize(net, seed);
        } else {
          models::load_backbone_weights(net, pretrained / (name + ".npz"), {.head_seed = seed});
        }
        return f(net);
      });
}

}  // namespace detail

// Checks what can be checked before any training: names, sizes, the pretrained files.
inline void check_service_options(const service_options& o, const study_plan& plan, std::int64_t classes) {
  if (plan.uses_synthetic()) detail::generator_preset(o.generator, classes);
  const auto size = models::parse_backbone_size(o.classifier.size);
  for (const auto& name : plan.backbones) {
    const auto b = models::parse_backbone(name);
    if (!o.pretrained.empty()) {
      require(size == models::backbone_size::full, "--pretrained: ImageNet weights fit the full-size backbones, not '",
              o.classifier.size, "' ones");
      const auto file = o.pretrained / (name + ".npz");
      require(std::filesystem::is_regular_file(file), "--pretrained: ", file.string(),
              " is missing (examples/export_torchvision_weights.py writes it)");
    }
    (void)b;
  }
  models::parse_backbone(o.feature_backbone);
  eval::parse_optimizer(o.classifier.optimizer);
  eval::parse_lr_decay(o.classifier.schedule);
  require(o.classifier.in_channels == 1 || o.classifier.in_channels == 3, "classifier: in_channels must be 1 or 3, got ",
          o.classifier.in_channels);
  require(o.classifier.epochs >= 1, "classifier: epochs must be at least 1, got ", o.classifier.epochs);
}

template <class B>
study_services make_study_services(const service_options& o, std::function<void(const std::string&)> log) {
  study_services s;
  s.log = log;

  s.train_generator = [o, log](const data::dataset_view& frames, const std::string& label, std::uint64_t seed) {
    const auto classes = frames.class_count();
    diffusion::preset p = detail::generator_preset(o.generator, classes);
    p.trainer.seed = seed;
    const data::dataset ds = detail::resized(frames, o.generator.image_size);
    const std::int64_t learned = p.trainer.min_motion > 0
                                     ? static_cast<std::int64_t>(data::moving_frames(ds, p.trainer.min_motion).size())
                                     : ds.size();
    // The length, decided here alone: it depends on the frames this generator learns. The warm-up stays within
    // the first quarter of a short run.
    p.trainer.steps = o.generator.training_steps(learned, p.trainer.batch, p.trainer.steps);
    p.trainer.warmup_steps = std::min(p.trainer.warmup_steps, p.trainer.steps / 4);
    models::unet<B> net(p.model);
    nn::initialize(net, seed);
    diffusion::trainer trainer(net, p.process, p.trainer, ds.class_names());
    generated_set out{nullptr, {}, std::nullopt};
    diffusion::train_options t;
    t.log_every = std::max<std::int64_t>(1, p.trainer.steps / 8);
    t.checkpoint_every = 0;
    if (log)
      log(str("generator [", label, "]: UNet ", p.model.describe(), ", ",
              static_cast<double>(nn::parameter_count(net)) / 1e6, "M parameters; ", p.trainer.steps, " steps of ",
              p.trainer.batch, " images",
              o.generator.epochs > 0 ? str(" (", o.generator.epochs, " epochs)") : std::string(),
              p.trainer.min_motion > 0
                  ? str(" from the ", learned, " frames that moved at least ", p.trainer.min_motion,
                        " of the way from their clip's first frame")
                  : std::string()));
    diffusion::train(trainer, ds, t, [&](const diffusion::train_progress& pr) {
      out.record.loss_curve.emplace_back(pr.step, pr.loss);
      if (log) log(str("generator [", label, "]: ", diffusion::progress_line(pr)));
    });
    out.record.steps = trainer.steps_done();

    std::vector<std::int64_t> counts;
    if (o.generator.study_counts) {
      counts = study_counts_for(ds.class_names());
    } else if (o.generator.per_class > 0) {
      counts.assign(static_cast<std::size_t>(classes), o.generator.per_class);
    } else {
      counts = ds.class_counts();
    }
    auto averaged = trainer.averaged_model();
    diffusion::generation_options g;
    g.sampler = p.sampler;
    g.seed = seed + 1;
    g.batch = 64;
    const shape image{1, 1, o.generator.image_size, o.generator.image_size};
    out.images = std::make_shared<const data::dataset>(
        diffusion::generate(averaged, trainer.schedule(), p.process.prediction, ds.class_names(), counts, image, g));
    out.sample_grid = diffusion::class_grid(trainer, o.generator.grid_per_class, p.sampler, seed + 2, image);
    return out;
  };

  s.train_and_test = [o, log](const classifier_request& r) {
    const classifier_settings c = o.classifier.for_backbone(r.backbone);
    const auto input = c.input_for(models::parse_backbone(r.backbone));
    return detail::with_study_backbone<B>(r.backbone, c, o.pretrained, r.train.class_count(), r.seed, [&](auto& net) {
      eval::train_options t = detail::classifier_options(c, r.config, input, r.seed);
      if (o.verbose && log)
        t.on_epoch = [&](const eval::epoch_record& e) {
          log(str("    ", r.label, ": epoch ", e.epoch, "/", t.epochs, " loss ", e.train_loss, ", accuracy ",
                  e.train_accuracy, ", ", static_cast<std::int64_t>(e.images_per_second), " img/s"));
        };
      const eval::train_result trained = eval::train_classifier(net, r.train, nullptr, t);
      classifier_result out;
      for (const data::dataset_view& test : r.tests)
        out.predictions.push_back(eval::predict(net, test, eval::predict_options{.image_size = input}).labels);
      for (const auto& e : trained.history) out.history.push_back({e.epoch, e.train_loss, e.train_accuracy});
      return out;
    });
  };

  s.features = [o, log](const data::dataset_view& real, const data::dataset_view& synthetic, std::uint64_t seed) {
    const classifier_settings c = o.classifier.for_backbone(o.feature_backbone);
    const auto input = c.input_for(models::parse_backbone(o.feature_backbone));
    return detail::with_study_backbone<B>(o.feature_backbone, c, o.pretrained, real.class_count(), seed, [&](auto& net) {
      eval::train_classifier(net, real, nullptr, detail::classifier_options(c, configuration::baseline, input, seed));
      const eval::predict_options po{.image_size = input, .features = true};
      const eval::prediction pr = eval::predict(net, real, po), ps = eval::predict(net, synthetic, po);
      auto matrix = [](const eval::prediction& p) {
        return eval::feature_matrix(p.size(), p.feature_count, std::vector<double>(p.features.begin(), p.features.end()));
      };
      return quality_features{matrix(pr), matrix(ps),
                              str("penultimate features (", net.feature_count(), ") of ", net.name(), " (",
                                  o.classifier.size, ", ", input, "x", input,
                                  ") trained on the generator's real training frames")};
    });
  };
  return s;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
