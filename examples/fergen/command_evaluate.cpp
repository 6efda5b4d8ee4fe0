// fergen evaluate: the study's grid on a real set and a synthetic set made beforehand (`fergen generate`):
// backbones x settings x configurations x trials, under one protocol.
#include "commands.hpp"
#include "study_common.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>

namespace fergen::tool {

void add_evaluate_command(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<study_arguments>();
  CLI::App* cmd = app.add_subcommand(
      "evaluate", "Judge a synthetic set: train and test the backbones in the study's settings on real and "
                  "synthetic images, under a protocol");
  cmd->add_option("--preset", a->preset, "Defaults for the sizes: demo, paper, smoke")->capture_default_str();
  add_source_options(cmd, a->source, "--real");
  cmd->add_option("--synthetic", a->synthetic, "Synthetic images, an image folder (`fergen generate --out`)")
      ->check(CLI::ExistingDirectory);
  add_grid_options(cmd, *a, true);
  cmd->callback([a, cmd, &run] { run = [a, cmd] { return run_study_command(*a, cmd, true); }; });
}

}  // namespace fergen::tool
