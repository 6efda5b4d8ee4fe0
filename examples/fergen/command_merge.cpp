// fergen merge: the folders of a sharded study (`fergen study --shard I/N`) joined into one results folder, as the
// unsharded run would have written it: results.json, results.csv, results_per_class.csv, the sample grids, the
// tables and report.html. Everything is checked before the first file is written.
#include "commands.hpp"

#include <fergen/core/npy.hpp>
#include <fergen/experiment/report.hpp>
#include <fergen/experiment/results_json.hpp>
#include <fergen/experiment/study_merge.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fergen::tool {

void add_merge_command(CLI::App& app, std::function<int()>& run) {
  struct arguments {
    std::string out;
    std::vector<std::string> shards;
  };
  auto a = std::make_shared<arguments>();
  CLI::App* cmd = app.add_subcommand(
      "merge", "Join the results folders of a sharded study (fergen study --shard I/N) into one, as an unsharded run "
               "writes it");
  cmd->add_option("--out", a->out, "The merged results folder")->required();
  cmd->add_option("shards", a->shards, "The shards' results folders (every shard 0..N-1 once)")->required();
  cmd->callback([a, &run] {
    run = [a] {
      namespace fs = std::filesystem;
      const fs::path out(a->out);
      std::vector<experiment::shard_folder> shards;
      for (const auto& dir : a->shards) {
        require(!fs::exists(out) || !fs::equivalent(out, dir), "merge: --out ", out.string(),
                " is one of the shard folders; give a folder of its own");
        shards.push_back(experiment::read_shard_folder(dir));
      }
      const experiment::merged_study m = experiment::merge_shards(shards);
      if (m.threads.size() > 1)
        std::printf("note: the shards ran with different thread counts (%s): each number is its own shard's; a run "
                    "on one thread count differs from them in the last digits\n",
                    experiment::detail::listed([&] {
                      std::vector<std::string> t;
                      for (const auto n : m.threads) t.push_back(std::to_string(n));
                      return t;
                    }()).c_str());
      fs::create_directories(out / "figures");
      for (const auto& [from, to] : m.figures)
        fergen::detail::write_atomically(out / to, fergen::detail::read_file(from));
      experiment::write_results_json(out / "results.json", m.results);
      experiment::write_results_csv(out / "results.csv", m.results);
      experiment::write_results_per_class_csv(out / "results_per_class.csv", m.results);
      const experiment::report_files files = experiment::write_report(out, m.results);
      std::printf("merged %zu shard(s) of preset %s: %zu cells, %zu generator(s). The report: %s\n", shards.size(),
                  m.results.preset.c_str(), m.results.trials_run.size(), m.results.generators.size(),
                  files.html.string().c_str());
      return 0;
    };
  });
}

}  // namespace fergen::tool
