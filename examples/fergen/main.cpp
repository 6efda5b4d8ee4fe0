// fergen: the command-line tool of the fergen library.
//
//   fergen augment ...    apply exact augmentation parameters to one image (preview a policy)
//   fergen dataset ...    load CASME II, an image folder or the procedural faces; counts, splits, leakage
//   fergen report ...     rebuild a study's report from its results.json
//   fergen forward ...    run a backbone (VGG-16, ResNet-50, Inception-V3) on an array and write its logits
//   fergen train-diffusion ...   train the class-conditional diffusion UNet (checkpoint + sample grids)
//   fergen generate ...   sample a synthetic dataset from a checkpoint into an image folder
//   fergen evaluate ...   judge a synthetic set with the backbones in the study's settings, under a protocol
//   fergen judge ...      judge one synthetic set quickly: its CAS ratio (synthetic- / real-trained accuracy on
//                         real frames), per class, with FID/KID, precision/recall and memorisation
//   fergen study ...      the whole study in one go (data -> diffusion -> synthetic set -> backbones -> report)
//   fergen demo           the study on the built-in procedural faces, sized for a 2-core CPU
//   fergen merge ...      join the results folders of a sharded study (fergen study --shard I/N) into one
//
// Each subcommand lives in a translation unit of its own (command_<name>.cpp, declared in commands.hpp): it
// adds its options to the CLI11 app and sets the function that runs it. Failures are fergen::error: printed as one line, exit status 1.
// Usage errors (CLI11's) are printed the same way and exit with status 2.
#include "commands.hpp"

#include <fergen/config.hpp>
#include <fergen/core/error.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <functional>

int main(int argc, char** argv) {
  CLI::App app{"fergen " FERGEN_VERSION_STRING
               ": synthetic facial-expression databases (diffusion) judged by VGG-16, ResNet-50 and Inception-V3"};
  app.set_version_flag("--version", FERGEN_VERSION_STRING);
  app.require_subcommand(1);

  std::function<int()> run;
  fergen::tool::add_augment_command(app, run);
  fergen::tool::add_dataset_command(app, run);
  fergen::tool::add_report_command(app, run);
  fergen::tool::add_forward_command(app, run);
  fergen::tool::add_train_diffusion_command(app, run);
  fergen::tool::add_generate_command(app, run);
  fergen::tool::add_evaluate_command(app, run);
  fergen::tool::add_judge_command(app, run);
  fergen::tool::add_study_command(app, run);
  fergen::tool::add_demo_command(app, run);
  fergen::tool::add_merge_command(app, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Usage errors read like every other error: one line naming the bad input, then where help is.
    std::fprintf(stderr, "fergen: error: %s\nRun with --help for more information.\n", e.what());
    return 2;
  }
  try {
    return run();
  } catch (const fergen::error& e) {
    std::fprintf(stderr, "fergen: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fergen: unexpected failure: %s\n", e.what());
    return 1;
  }
}
