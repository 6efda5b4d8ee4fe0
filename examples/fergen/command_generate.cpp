// fergen generate: samples a synthetic dataset from a train-diffusion checkpoint into an image folder
// DIR/<class>/*.png with DIR/manifest.csv; per-class counts, the study's Table 2 counts, shards.
#include "commands.hpp"

#include <fergen/core/parallel.hpp>
#include <fergen/data/image_io.hpp>
#include <fergen/diffusion/checkpoint.hpp>
#include <fergen/diffusion/generate.hpp>
#include <fergen/diffusion/image_tensors.hpp>
#include <fergen/diffusion/sampler.hpp>
#include <fergen/diffusion/train.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fergen::tool {
namespace {

struct generate_arguments {
  std::string checkpoint, out, counts, sampler = "ddim", spacing = "trailing", variance = "fixed_small", shard = "0/1",
                                       grid;
  std::int64_t per_class = 0, steps = 50, batch = 32;
  double eta = 1, guidance = 1, clip = 1;
  bool no_clip = false, raw = false;
  std::uint64_t seed = 0;
};

// --counts study | K1,K2,... (one per class, in the checkpoint's class order).
std::vector<std::int64_t> parse_counts(const std::string& text, const std::vector<std::string>& classes) {
  if (text == "study") return diffusion::study_counts_for(classes);
  std::vector<std::int64_t> counts;
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view part = std::string_view(text).substr(start, comma - start);
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    require(ec == std::errc() && end == part.data() + part.size() && v >= 0, "--counts: '", part,
            "' is not a count (give study, or one non-negative integer per class)");
    counts.push_back(v);
    start = comma + 1;
  }
  std::string names;
  for (const auto& c : classes) names += (names.empty() ? "" : ", ") + c;
  require(counts.size() == classes.size(), "--counts: ", counts.size(), " counts for the checkpoint's ", classes.size(),
          " classes (", names, ")");
  return counts;
}

}  // namespace

void add_generate_command(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<generate_arguments>();
  CLI::App* cmd = app.add_subcommand(
      "generate", "Sample a synthetic dataset from a train-diffusion checkpoint into DIR/<class>/*.png + manifest.csv");
  cmd->add_option("--checkpoint", a->checkpoint, "The --out folder of train-diffusion, or its checkpoint.npz")->required();
  cmd->add_option("--out", a->out, "Output folder (an image folder: DIR/<class>/*.png)")->required();
  auto* per_class = cmd->add_option("--per-class", a->per_class, "Images per class");
  auto* counts_option = cmd->add_option("--counts", a->counts, "study (the study's Table 2 counts) or K1,K2,... per class");
  per_class->excludes(counts_option);
  cmd->add_option("--sampler", a->sampler, "ddpm or ddim")->capture_default_str();
  cmd->add_option("--steps", a->steps, "Sampling steps (at most the model's T)")->capture_default_str();
  cmd->add_option("--spacing", a->spacing, "Timestep spacing: trailing, leading, linspace")->capture_default_str();
  cmd->add_option("--eta", a->eta,
                  "DDIM noise: 1 (DDPM's variance; robust for briefly trained networks) to 0 (deterministic)")
      ->capture_default_str();
  cmd->add_option("--variance", a->variance, "DDPM noise: fixed_small or fixed_large")->capture_default_str();
  cmd->add_option("--guidance", a->guidance, "Classifier-free guidance scale (1: none)")->capture_default_str();
  cmd->add_option("--clip", a->clip, "Clip the predicted clean image to [-clip, clip]")->capture_default_str();
  cmd->add_flag("--no-clip", a->no_clip, "Do not clip the predicted clean image");
  cmd->add_flag("--raw", a->raw, "Sample from the last weights instead of their moving average");
  cmd->add_option("--seed", a->seed, "Seed of the noise")->capture_default_str();
  cmd->add_option("--shard", a->shard, "Part i/n of the job (shards together make the unsharded set)")
      ->capture_default_str();
  cmd->add_option("--batch", a->batch, "Images per network pass")->capture_default_str();
  cmd->add_option("--grid", a->grid, "Also write a PNG with up to 8 images per class (one row per class)");

  cmd->callback([a, cmd, &run] {
    run = [a, cmd] {
      require(cmd->count("--per-class") + cmd->count("--counts") == 1,
              "generate: give the number of images: --per-class N, --counts study or --counts K1,K2,...");
      // Everything is checked before the first image.
      auto trained = diffusion::load_unet<cpu<float>>(a->checkpoint, !a->raw);
      const models::unet_config& m = trained.model.config();
      std::vector<std::string> classes = trained.class_names;
      if (classes.empty()) classes = {"generated"};
      const std::vector<std::int64_t> counts =
          cmd->count("--per-class") ? std::vector<std::int64_t>(classes.size(), a->per_class) : parse_counts(a->counts, classes);
      require(cmd->count("--counts") || a->per_class >= 1, "--per-class ", a->per_class, " must be at least 1");
      diffusion::generation_options o;
      o.sampler.kind = diffusion::sampler_from_name(a->sampler);
      o.sampler.steps = a->steps;
      o.sampler.spacing = diffusion::timestep_spacing_from_name(a->spacing);
      o.sampler.eta = a->eta;
      o.sampler.variance = diffusion::variance_type_from_name(a->variance);
      o.sampler.clip = {.enabled = !a->no_clip, .range = a->clip};
      o.sampler.guidance.scale = a->guidance;
      o.seed = a->seed;
      o.batch = a->batch;
      o.shard = diffusion::shard::parse(a->shard);
      if (o.sampler.guidance.active()) {
        o.sampler.guidance.check(trained.model);
        const auto it = trained.trainer.find("label_dropout");
        require(it == trained.trainer.end() || std::stod(it->second) > 0, "--guidance ", a->guidance, ": the model in ",
                a->checkpoint, " was trained with label dropout 0, so its null class never learned the unconditional "
                "prediction; use --guidance 1");
      }
      const diffusion::noise_schedule schedule = trained.process.make_schedule();
      o.sampler.timesteps(schedule.timesteps());
      std::int64_t total = 0;
      std::string plan;
      for (std::size_t k = 0; k < classes.size(); ++k) {
        total += counts[k];
        plan += str(k ? ", " : "", classes[k], " ", counts[k]);
      }
      std::printf("model: UNet %s from %s (step %lld, %s weights)\n", m.describe().c_str(), a->checkpoint.c_str(),
                  static_cast<long long>(trained.step), a->raw ? "last" : "averaged");
      std::printf("generating %lld images (%s) with %s, seed %llu, batch %lld%s; %d threads\n",
                  static_cast<long long>(total), plan.c_str(), o.sampler.describe().c_str(),
                  static_cast<unsigned long long>(o.seed), static_cast<long long>(o.batch),
                  o.shard.sharded() ? str(", shard ", o.shard.index, "/", o.shard.count).c_str() : "", thread_count());
      std::fflush(stdout);
      const shape image{1, m.image_channels, m.image_size, m.image_size};
      const data::dataset ds = diffusion::generate(
          trained.model, schedule, trained.process.prediction, classes, counts, image, o,
          [](const diffusion::generation_progress& p) {
            const double rate = p.elapsed > 0 ? static_cast<double>(p.done) / p.elapsed : 0;
            std::printf("  %lld/%lld images, %.1f img/s, elapsed %s, ETA %s\n", static_cast<long long>(p.done),
                        static_cast<long long>(p.total), rate, diffusion::format_duration(p.elapsed).c_str(),
                        diffusion::format_duration(rate > 0 ? static_cast<double>(p.total - p.done) / rate : 0).c_str());
            std::fflush(stdout);
          });
      diffusion::write_generated(ds, a->out, o);
      std::printf("wrote %lld images to %s/<class>/*.png and %s/%s\n", static_cast<long long>(ds.size()), a->out.c_str(),
                  a->out.c_str(), diffusion::manifest_name(o.shard).c_str());
      if (!a->grid.empty()) {
        std::vector<data::image> rows;
        std::int64_t columns = 0;
        for (std::int64_t k = 0; k < ds.class_count(); ++k) columns = std::max(columns, std::min<std::int64_t>(8, ds.class_counts()[static_cast<std::size_t>(k)]));
        for (std::int64_t k = 0; k < ds.class_count() && columns > 0; ++k) {
          std::int64_t taken = 0;
          for (const auto& s : ds)
            if (s.label == k && taken < columns) rows.push_back(s.image), ++taken;
          for (; taken < columns; ++taken) rows.emplace_back(image.c, image.h, image.w, 128.0f);
        }
        if (!rows.empty()) {
          data::write_png(a->grid, diffusion::image_grid(rows, columns));
          std::printf("wrote %s (one row per class)\n", a->grid.c_str());
        }
      }
      return 0;
    };
  });
}

}  // namespace fergen::tool
