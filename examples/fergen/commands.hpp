// The fergen tool's subcommands. Each lives in a translation unit of its own (command_<name>.cpp), so the
// tool builds in parallel and a change to one command recompiles only that one. A command adds its options
// to the app and, when chosen, sets `run` to the function that does its work.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace fergen::tool {

void add_augment_command(CLI::App& app, std::function<int()>& run);
void add_dataset_command(CLI::App& app, std::function<int()>& run);
void add_report_command(CLI::App& app, std::function<int()>& run);
void add_forward_command(CLI::App& app, std::function<int()>& run);
void add_train_diffusion_command(CLI::App& app, std::function<int()>& run);
void add_generate_command(CLI::App& app, std::function<int()>& run);
void add_evaluate_command(CLI::App& app, std::function<int()>& run);
void add_judge_command(CLI::App& app, std::function<int()>& run);
void add_study_command(CLI::App& app, std::function<int()>& run);
void add_demo_command(CLI::App& app, std::function<int()>& run);
void add_merge_command(CLI::App& app, std::function<int()>& run);

}  // namespace fergen::tool
