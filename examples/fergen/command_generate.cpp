// fergen generate: samples a synthetic dataset from a train-diffusion checkpoint into an image folder
// DIR/<class>/*.png with DIR/manifest.csv; per-class counts, the study's Table 2 counts, shards.
#include "commands.hpp"
#include "device.hpp"
#include "generate_run.hpp"

#include <fergen/core/error.hpp>

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>

namespace fergen::tool {

void add_generate_command(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<generate_arguments>();
  CLI::App* cmd = app.add_subcommand(
      "generate", "Sample a synthetic dataset from a train-diffusion checkpoint into DIR/<class>/*.png + manifest.csv");
  cmd->add_option("--checkpoint", a->checkpoint, "The --out folder of train-diffusion, or its checkpoint.npz")->required();
  cmd->add_option("--out", a->out, "Output folder (an image folder: DIR/<class>/*.png)")->required();
  auto* per_class = cmd->add_option("--per-class", a->per_class, "Images per class");
  auto* counts_option = cmd->add_option("--counts", a->counts, "study (the study's Table 2 counts) or K1,K2,... per class");
  per_class->excludes(counts_option);
  cmd->add_option("--sampler", a->sampler,
                  "Sampler: " + diffusion::sampler_name_list() + " (DPM-Solver++(2M): 15-20 steps; docs/samplers.md)")
      ->capture_default_str();
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
  cmd->add_option("--grid", a->grid, "Also write a PNG with up to 8 images per class (one row per class, named)");
  cmd->add_option("--grid-zoom", a->grid_zoom, "Pixels per image pixel in the grid (0: tiles of at least 96 pixels)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{32}))
      ->capture_default_str();
  cmd->add_option("--device", a->device, "cpu, or cuda in a CUDA build")->capture_default_str();

  cmd->callback([a, cmd, &run] {
    run = [a, cmd] {
      require(cmd->count("--per-class") + cmd->count("--counts") == 1,
              "generate: give the number of images: --per-class N, --counts study or --counts K1,K2,...");
      const bool per_class_given = cmd->count("--per-class") > 0;
      if (!use_cuda(a->device)) return run_generate<cpu<float>>(*a, per_class_given);
#if FERGEN_TOOL_CUDA
      return run_generate_cuda(*a, per_class_given);
#else
      return 1;  // not reached: use_cuda has failed
#endif
    };
  });
}

}  // namespace fergen::tool
