// `fergen generate`'s work, from checkpoint to image folder, as a template over the backend: command_generate.cpp
// runs it on the CPU, and in a CUDA build study_run_cuda.cu instantiates it for cuda<float> (--device cuda).
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/key_value.hpp>
#include <fergen/core/parallel.hpp>
#include <fergen/data/image_io.hpp>
#include <fergen/diffusion/checkpoint.hpp>
#include <fergen/diffusion/generate.hpp>
#include <fergen/diffusion/image_tensors.hpp>
#include <fergen/diffusion/sampler.hpp>
#include <fergen/diffusion/train.hpp>
#include <fergen/experiment/study_counts.hpp>
#include <fergen/report/class_grid_figure.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace fergen::tool {

struct generate_arguments {
  std::string checkpoint, out, counts, sampler = "ddim", spacing = "trailing", variance = "fixed_small", shard = "0/1",
                                       grid;
  std::int64_t per_class = 0, steps = 50, batch = 32, grid_zoom = 0;
  double eta = 1, guidance = 1, clip = 1;
  bool no_clip = false, raw = false;
  std::string device = "cpu";
  std::uint64_t seed = 0;
};

// --counts study | K1,K2,... (one per class, in the checkpoint's class order).
inline std::vector<std::int64_t> parse_counts(const std::string& text, const std::vector<std::string>& classes) {
  if (text == "study") return experiment::study_counts_for(classes);
  const std::vector<std::int64_t> counts =
      parse_list<std::int64_t>(text, "--counts (study, or one non-negative integer per class)");
  for (const auto v : counts)
    require(v >= 0, "--counts: ", v, " is not a count (give study, or one non-negative integer per class)");
  std::string names;
  for (const auto& c : classes) names += (names.empty() ? "" : ", ") + c;
  require(counts.size() == classes.size(), "--counts: ", counts.size(), " counts for the checkpoint's ", classes.size(),
          " classes (", names, ")");
  return counts;
}

// Samples the images and writes them (and the grid, when asked). per_class_given: --per-class was given, else
// --counts. Everything is checked before the first image.
template <class B>
int run_generate(const generate_arguments& a, bool per_class_given) {
  auto trained = diffusion::load_unet<B>(a.checkpoint, !a.raw);
  const models::unet_config& m = trained.model.config();
  std::vector<std::string> classes = trained.class_names;
  if (classes.empty()) classes = {"generated"};
  const std::vector<std::int64_t> counts =
      per_class_given ? std::vector<std::int64_t>(classes.size(), a.per_class) : parse_counts(a.counts, classes);
  require(!per_class_given || a.per_class >= 1, "--per-class ", a.per_class, " must be at least 1");
  diffusion::generation_options o;
  o.sampler.kind = diffusion::sampler_from_name(a.sampler);
  o.sampler.steps = a.steps;
  o.sampler.spacing = diffusion::timestep_spacing_from_name(a.spacing);
  o.sampler.eta = a.eta;
  o.sampler.variance = diffusion::variance_type_from_name(a.variance);
  o.sampler.clip = {.enabled = !a.no_clip, .range = a.clip};
  o.sampler.guidance.scale = a.guidance;
  o.seed = a.seed;
  o.batch = a.batch;
  o.shard = diffusion::shard::parse(a.shard);
  if (o.sampler.guidance.active()) {
    o.sampler.guidance.check(trained.model);
    double label_dropout = 1;  // a checkpoint without the key is not refused
    key_value_reader(trained.trainer, a.checkpoint, "trainer option").read("label_dropout", label_dropout);
    require(label_dropout > 0, "--guidance ", a.guidance, ": the model in ",
            a.checkpoint, " was trained with label dropout 0, so its null class never learned the unconditional "
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
  std::printf("model: UNet %s from %s (step %lld, %s weights)\n", m.describe().c_str(), a.checkpoint.c_str(),
              static_cast<long long>(trained.step), a.raw ? "last" : "averaged");
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
  diffusion::write_generated(ds, a.out, o);
  std::printf("wrote %lld images to %s/<class>/*.png and %s/%s\n", static_cast<long long>(ds.size()), a.out.c_str(),
              a.out.c_str(), diffusion::manifest_name(o.shard).c_str());
  if (!a.grid.empty()) {
    // Up to 8 images of each class, one row per class with its name, enlarged to be read on a screen.
    std::vector<std::vector<data::image>> rows(static_cast<std::size_t>(ds.class_count()));
    for (const auto& s : ds)
      if (auto& row = rows[static_cast<std::size_t>(s.label)]; row.size() < 8) row.push_back(s.image);
    if (ds.size() > 0) {
      report::class_grid_options figure;
      figure.zoom = a.grid_zoom;
      char title[160];
      std::snprintf(title, sizeof title, "%s, %lld steps, guidance %g, seed %llu", a.sampler.c_str(),
                    static_cast<long long>(a.steps), a.guidance, static_cast<unsigned long long>(a.seed));
      figure.title = title;
      data::write_png(a.grid, report::class_grid_figure(rows, ds.class_names(), figure).image());
      std::printf("wrote %s (one row per class)\n", a.grid.c_str());
    }
  }
  return 0;
}

#if FERGEN_TOOL_CUDA
int run_generate_cuda(const generate_arguments& a, bool per_class_given);  // study_run_cuda.cu
#endif

}  // namespace fergen::tool
