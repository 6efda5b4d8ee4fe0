// fergen study and fergen demo (= study --preset demo on the procedural faces): the whole study in one command:
// protocol fold -> a synthetic database -> VGG-16, ResNet-50 and Inception-V3 in the four settings -> the
// report, under the study's protocol and a subject-independent one.
#include "commands.hpp"
#include "study_common.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>

namespace fergen::tool {

void add_study_command(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<study_arguments>();
  CLI::App* cmd = app.add_subcommand(
      "study", "The study in one go: data -> diffusion per fold -> synthetic set -> backbones in the four settings -> "
               "report, under the study's protocol and LOSO");
  cmd->add_option("--preset", a->preset, "demo (a 2-core CPU, minutes), paper (the study's sizes; a GPU), smoke")
      ->capture_default_str();
  add_source_options(cmd, a->source, "--data");
  add_grid_options(cmd, *a, false);
  add_generator_options(cmd, *a);
  add_scale_options(cmd, *a);
  cmd->callback([a, cmd, &run] { run = [a, cmd] { return run_study_command(*a, cmd, false); }; });
}

void add_demo_command(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<study_arguments>();
  CLI::App* cmd = app.add_subcommand(
      "demo", "The study on the built-in procedural faces, sized for a 2-core CPU (about 8 minutes): "
              "= fergen study --preset demo");
  cmd->add_option("--out", a->out, "Results folder")->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed of the whole run");
  cmd->add_option("--device", a->device, "cpu, or in a CUDA build cuda or cuda:K")->capture_default_str();
  cmd->add_flag("--verbose", a->verbose, "A progress line per classifier epoch");
  a->out = "fergen-demo";
  cmd->callback([a, cmd, &run] {
    run = [a, cmd] {
      a->preset = "demo";
      a->restart = true;  // the demo always runs whole
      return run_study_command(*a, cmd, false);
    };
  });
}

}  // namespace fergen::tool
