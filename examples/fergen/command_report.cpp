// fergen report: rebuilds a study's report (results.csv, results_per_class.csv, tables.md, comparison.md, figures/,
// report.html) from its results.json, without rerunning anything.
#include "commands.hpp"

#include <fergen/experiment/report.hpp>
#include <fergen/experiment/results_json.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace fergen::tool {

void add_report_command(CLI::App& app, std::function<int()>& run) {
  auto results = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("report", "Rebuild a study's report from its results folder (results.json)");
  cmd->add_option("--results", *results, "The results folder of `fergen study`, `fergen evaluate` or `fergen demo`")
      ->required();
  cmd->callback([results, &run] {
    run = [results] {
      const std::filesystem::path folder(*results);
      require(std::filesystem::is_directory(folder), "report: --results ", folder.string(), " is not a folder");
      const experiment::study_results r = experiment::read_results_json(folder / "results.json");
      experiment::write_results_csv(folder / "results.csv", r);
      experiment::write_results_per_class_csv(folder / "results_per_class.csv", r);
      const experiment::report_files files = experiment::write_report(folder, r);
      std::printf("report of %zu result rows (%s): %s\n  tables: %s\n  beside the published figures: %s\n",
                  r.trials_run.size(), r.preset.c_str(), files.html.string().c_str(), files.tables.string().c_str(),
                  files.comparison.string().c_str());
      return 0;
    };
  });
}

}  // namespace fergen::tool
