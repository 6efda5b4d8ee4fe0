// fergen dataset: loads CASME II, an image folder or the procedural faces; prints class counts and the
// leakage of a split; optionally writes the dataset to disk.
#include "commands.hpp"
#include "data_source.hpp"

#include <fergen/data/leakage.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

namespace fergen::tool {

void add_dataset_command(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<dataset_arguments>();
  CLI::App* cmd = app.add_subcommand(
      "dataset", "Load CASME II, an image folder or the procedural faces; print class counts and a split's leakage");
  add_source_options(cmd, *a);
  cmd->add_option("--write", a->write,
                  "Write the dataset: the procedural faces as a CASME II tree, anything else as an image folder "
                  "with manifest.csv");
  cmd->add_option("--split", a->split, "random (the study's frame-level 80/20), clip, loso, subject-kfold")
      ->check(CLI::IsMember({"random", "clip", "loso", "subject-kfold"}));
  cmd->add_option("--test-fraction", a->test_fraction, "Test fraction of the random and clip splits")
      ->capture_default_str();
  cmd->add_option("--folds", a->folds, "Folds of subject-kfold")->capture_default_str();
  cmd->add_flag("--stratified", a->stratified, "Keep class proportions in the split");
  cmd->add_option("--seed", a->seed, "Seed of the split")->capture_default_str();

  cmd->callback([a, &run] {
    run = [a] {
      require_source(*a, "dataset");
      const auto start = std::chrono::steady_clock::now();
      const data::dataset ds = load_source(*a);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("loaded in %.1f s: ", seconds);
      print_summary(ds);
      if (!a->write.empty() && !a->procedural) {
        write_image_folder(ds, a->write);
        std::printf("wrote %s/<class>/*.png and %s/manifest.csv\n", a->write.c_str(), a->write.c_str());
      }
      if (!a->split.empty()) {
        const std::vector<data::split> splits = make_splits(ds, *a);
        double clip_sum = 0, subject_sum = 0;
        for (const auto& s : splits) {
          const data::leakage_report r = data::measure_leakage(ds, s);
          std::printf("%s\n", r.describe().c_str());
          clip_sum += r.clip_overlap;
          subject_sum += r.subject_overlap;
        }
        if (splits.size() > 1)
          std::printf("%zu folds: on average %.1f%% of test frames share a clip and %.1f%% a subject with train\n",
                      splits.size(), 100.0 * clip_sum / static_cast<double>(splits.size()),
                      100.0 * subject_sum / static_cast<double>(splits.size()));
      }
      return 0;
    };
  });
}

}  // namespace fergen::tool
