// What `fergen study`, `fergen demo` and `fergen evaluate` share: the options of the study's grid, and the run
// from plan to report (study_run.cpp: the one translation unit that instantiates the networks for the study).
#pragma once

#include "data_source.hpp"
#include "device.hpp"

#include <fergen/experiment/study_axes.hpp>
#include <fergen/experiment/study_presets.hpp>

#include <CLI/CLI.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace fergen::tool {

struct study_arguments {
  dataset_arguments source;
  std::string preset = "demo", out, backbones, settings, configs, protocols, size, pretrained, synthetic,
              device = "cpu", feature_backbone;
  // fergen study at scale: a shard of the grid, the generator folder shards share, starting over, the plan alone.
  std::string shard, generators, throughput;
  bool restart = false, plan_only = false;
  std::int64_t trials = 0, folds = 0, generator_folds = 0, epochs = 0, input_size = 0, diffusion_steps = 0, per_class = 0, batch = 0;
  double lr = 0, diffusion_epochs = 0;
  std::uint64_t seed = 0;
  bool verbose = false;
};

// The grid and the classifiers: every option overrides the preset's value when given.
inline void add_grid_options(CLI::App* cmd, study_arguments& a, bool evaluate) {
  cmd->add_option("--out", a.out, "Results folder (results.json, results.csv, tables, figures, report.html)");
  cmd->add_option("--backbones", a.backbones, "Comma-separated: vgg16, resnet50, inception_v3");
  cmd->add_option("--settings", a.settings, "Comma-separated: real-real, synth-synth, real-synth, synth-real, or all");
  cmd->add_option("--configs", a.configs, "Comma-separated: baseline, augment, freeze30, or all");
  cmd->add_option("--trials", a.trials, "Trials per cell (the study: 5)");
  cmd->add_option(evaluate ? "--protocol" : "--protocols", a.protocols,
                  "random (the study's 80/20), loso, subject-kfold; comma-separated for several");
  cmd->add_option("--folds", a.folds, "Folds of subject-kfold");
  cmd->add_option("--seed", a.seed, "Seed of every split, initialisation and draw of the run");
  cmd->add_option("--backbone-size", a.size, "Backbone size: full (torchvision's) or small");
  cmd->add_option("--input-size", a.input_size, "Classifier input size (the study: 160)");
  cmd->add_option("--epochs", a.epochs, "Classifier training epochs");
  cmd->add_option("--batch", a.batch, "Classifier batch size");
  cmd->add_option("--lr", a.lr, "Classifier learning rate");
  cmd->add_option("--pretrained", a.pretrained,
                  "Folder of ImageNet weights, <backbone>.npz (examples/export_torchvision_weights.py writes them)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--feature-backbone", a.feature_backbone, "Backbone whose features measure the synthetic set");
  cmd->add_option("--device", a.device, "cpu, or in a CUDA build cuda or cuda:K (the K-th GPU this process sees)")
      ->capture_default_str();
  cmd->add_flag("--verbose", a.verbose, "A progress line per classifier epoch");
}

// fergen study's: the grid split over processes and machines (README "The study on many machines").
inline void add_scale_options(CLI::App* cmd, study_arguments& a) {
  cmd->add_option("--shard", a.shard,
                  "I/N: run shard I of N (0 <= I < N), its share of the grid (the same split in every process, "
                  "balanced by estimated cost); `fergen merge` joins the shards' folders");
  cmd->add_option("--generators", a.generators,
                  "A generator folder the shards share: each generator is trained once and read by every shard "
                  "that needs it (default: OUT/generators, this run's own: each shard trains what it needs)");
  cmd->add_flag("--restart", a.restart,
                "Start over: discard what --out holds of an earlier run (by default a rerun of the same command "
                "skips the cells already in its results.json)");
  cmd->add_flag("--plan-only", a.plan_only,
                "Print the grid's cells, generator and classifier trainings and an estimate of the hours (per "
                "shard with --shard), then stop");
  cmd->add_option("--throughput", a.throughput,
                  "For --plan-only: images per second measured on your machine (CSV: network,input,train,infer; "
                  "--plan-only prints fergen's reference figures in that form) instead of the reference figures")
      ->check(CLI::ExistingFile);
}

inline void add_generator_options(CLI::App* cmd, study_arguments& a) {
  auto* diffusion_steps = cmd->add_option("--diffusion-steps", a.diffusion_steps, "Training steps of each generator");
  cmd->add_option("--diffusion-epochs", a.diffusion_epochs,
                  "Instead: passes over the frames each generator learns (a generator of more frames trains longer)")
      ->excludes(diffusion_steps);
  cmd->add_option("--per-class", a.per_class, "Synthetic images per class (default: the preset's)");
  cmd->add_option("--generator-folds", a.generator_folds,
                  "LOSO and subject-kfold: the folds share this many generators, each trained without the test "
                  "subjects of all the folds it serves (0: one generator per fold)");
}

// The preset with the user's overrides, checked before anything is loaded or trained.
inline experiment::study_preset resolve_preset(const study_arguments& a, const CLI::App* cmd) {
  // Options a command does not have (demo has few) count as not given.
  auto given = [&](const char* name) {
    const CLI::Option* o = cmd->get_option_no_throw(name);
    return o != nullptr && o->count() > 0;
  };
  experiment::study_preset p = experiment::study_presets::by_name(a.preset);
  experiment::study_plan& plan = p.plan;
  using namespace experiment;
  if (given("--backbones")) plan.backbones = parse_list(a.backbones, parse_backbone);
  if (given("--settings"))
    plan.settings = a.settings == "all" ? std::vector<setting>(all_settings.begin(), all_settings.end())
                                        : parse_list(a.settings, parse_setting);
  if (given("--configs"))
    plan.configs = a.configs == "all" ? std::vector<configuration>(all_configurations.begin(), all_configurations.end())
                                      : parse_list(a.configs, parse_configuration);
  if (given("--protocols") || given("--protocol")) plan.protocols = parse_list(a.protocols, parse_protocol);
  if (given("--trials")) plan.trials = a.trials;
  if (given("--folds")) plan.folds = a.folds;
  if (given("--seed")) plan.seed = a.seed;
  if (given("--backbone-size")) p.classifier.size = a.size;
  if (given("--input-size")) p.classifier.set_input_size(a.input_size);
  if (given("--epochs")) p.classifier.epochs = a.epochs;
  if (given("--batch")) p.classifier.set_batch(a.batch);
  if (given("--lr")) p.classifier.set_lr(a.lr);
  if (given("--diffusion-steps")) {
    p.generator.steps = a.diffusion_steps;
    p.generator.epochs = 0;
  }
  if (given("--diffusion-epochs")) {
    require(std::isfinite(a.diffusion_epochs) && a.diffusion_epochs > 0, "--diffusion-epochs must be positive, got ",
            a.diffusion_epochs);
    p.generator.epochs = a.diffusion_epochs;
  }
  if (given("--per-class")) p.generator.per_class = a.per_class;
  if (given("--generator-folds")) plan.generator_folds = a.generator_folds;
  plan.validate();
  require(p.classifier.input_size >= 16, "--input-size ", p.classifier.input_size, " is below 16");
  require(p.classifier.batch >= 1, "--batch must be at least 1, got ", p.classifier.batch);
  require(std::isfinite(p.classifier.lr) && p.classifier.lr > 0, "--lr must be positive, got ", p.classifier.lr);
  device_choice::parse(a.device);
  return p;
}

// In words, for the report: what the real frames are.
inline std::string describe_source(const dataset_arguments& s) {
  if (s.procedural)
    return str("the procedural faces (", s.subjects, " subjects, ", s.clips_per_class, " clip(s) per class, seed ",
               s.faces_seed, ")");
  if (!s.casme2.empty()) return str("CASME II at ", s.casme2, " (", s.labels, " labels, ", s.frames, " frames)");
  return str("the image folder ", s.folder, s.manifest.empty() ? std::string() : " with manifest " + s.manifest);
}

// From parsed arguments to a report: resolve and check everything, load the data, run, write the report.
// `evaluate` takes its synthetic images from --synthetic instead of training generators.
int run_study_command(study_arguments& a, const CLI::App* cmd, bool evaluate);

}  // namespace fergen::tool
