// fergen/diffusion/generate.hpp: generating a synthetic dataset from a trained model: per-class counts, batches,
// shards, and the image folder it is written to.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/key_value.hpp>
#include <fergen/core/rng.hpp>
#include <fergen/core/shard.hpp>
#include <fergen/data/csv.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/image_io.hpp>
#include <fergen/diffusion/image_tensors.hpp>
#include <fergen/diffusion/sampler.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

// Part i of n of a generation job (core/shard.hpp): batch b goes to shard b mod n. Each batch is computed the same
// way whatever the sharding, so the union of the shards is the unsharded set, image for image and bit for bit
// (given the same batch size and thread count).
using fergen::shard;

struct generation_options {
  sampler_options sampler{};
  std::uint64_t seed = 0;
  std::int64_t batch = 32;
  diffusion::shard shard{};

  void validate() const {
    require(batch >= 1, "generate: batch = ", batch, " must be at least 1");
    shard.validate();
  }
};

// Where image `index` (0-based within its class) of a class goes in the output folder.
inline std::string generated_file(const std::string& class_name, std::int64_t index) {
  char number[24];
  std::snprintf(number, sizeof number, "%05lld", static_cast<long long>(index));
  return class_name + "/" + class_name + "_" + number + ".png";
}

struct generation_progress {
  std::int64_t done = 0, total = 0;  // images of this shard
  double elapsed = 0;                // seconds
};

// The noise stream of image `index` of class `label`: independent of the other classes' counts, so asking for
// more images of one class leaves the images of the others as they were.
inline random_stream image_stream(std::uint64_t seed, std::int64_t label, std::int64_t index) {
  return random_stream{seed, (static_cast<std::uint64_t>(label) << 40) + static_cast<std::uint64_t>(index) + 1};
}

// Generates counts[k] images of class k (classes in the order of class_names), class by class, in batches
// of the job's consecutive images; image i of class k draws its noise from image_stream(seed, k, i). Returns this shard's
// images as a dataset of 8-bit-level gray images with label = class, frame = index within the class and
// source = its file in the output folder (generated_file). Every option is checked before the first image.
template <class Model>
  requires models::conditional_denoiser<Model>
data::dataset generate(Model& model, const noise_schedule& schedule, prediction_type prediction,
                       const std::vector<std::string>& class_names, const std::vector<std::int64_t>& counts,
                       shape image, const generation_options& o,
                       const std::function<void(const generation_progress&)>& progress = {}) {
  o.validate();
  const bool conditional = model.class_count() > 0;
  require(!class_names.empty(), "generate: no class names (an unconditional model needs one name for its images)");
  require(counts.size() == class_names.size(), "generate: ", counts.size(), " counts for ", class_names.size(),
          " classes");
  require(!conditional || model.class_count() == static_cast<std::int64_t>(class_names.size()), "generate: ",
          class_names.size(), " class names for a network of ", model.class_count(), " classes");
  require(conditional || class_names.size() == 1, "generate: an unconditional network has one class of images, not ",
          class_names.size());
  for (std::size_t k = 0; k < counts.size(); ++k)
    require(counts[k] >= 0, "generate: count ", counts[k], " for class '", class_names[k], "' is negative");
  for (const auto& name : class_names)
    require(!name.empty() && name != "." && name != ".." && name.find_first_of("/\\") == std::string::npos,
            "generate: class name '", name, "' cannot name a folder");
  // Fails here, before any image, on steps > T, a bad eta, guidance without a null class, a bad shape.
  o.sampler.timesteps(schedule.timesteps());
  o.sampler.guidance.check(model);
  image.n = 1;
  model.output_shape(image);

  struct item {
    std::int64_t label, index;
  };
  std::vector<item> job;
  for (std::size_t k = 0; k < counts.size(); ++k)
    for (std::int64_t i = 0; i < counts[k]; ++i)
      job.push_back({static_cast<std::int64_t>(k), i});
  const auto total = static_cast<std::int64_t>(job.size());
  const std::int64_t batches = (total + o.batch - 1) / o.batch;
  std::int64_t mine = 0;
  for (std::int64_t b = o.shard.index; b < batches; b += o.shard.count)
    mine += std::min(o.batch, total - b * o.batch);

  data::dataset out(class_names);
  const auto start = std::chrono::steady_clock::now();
  std::int64_t done = 0;
  for (std::int64_t b = o.shard.index; b < batches; b += o.shard.count) {
    const std::int64_t first = b * o.batch, last = std::min(total, first + o.batch);
    std::vector<std::int64_t> labels;
    std::vector<random_stream> streams;
    for (std::int64_t g = first; g < last; ++g) {
      if (conditional) labels.push_back(job[static_cast<std::size_t>(g)].label);
      const item& it = job[static_cast<std::size_t>(g)];
      streams.push_back(image_stream(o.seed, it.label, it.index));
    }
    const auto x = sample(model, schedule, prediction, o.sampler, image, labels, streams);
    std::vector<data::image> images = images_from_batch(x);
    for (std::int64_t g = first; g < last; ++g) {
      const item& it = job[static_cast<std::size_t>(g)];
      data::sample s;
      s.image = std::move(images[static_cast<std::size_t>(g - first)]);
      s.label = it.label;
      s.frame = it.index;
      s.source = generated_file(class_names[static_cast<std::size_t>(it.label)], it.index);
      out.add(std::move(s));
    }
    done += last - first;
    if (progress)
      progress({done, mine, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
  }
  return out;
}

// The manifest of a generation run: manifest.csv for a whole job, manifest-<i>-of-<n>.csv for a shard, so
// shards written into one folder (or folders merged later) never overwrite one another's.
inline std::string manifest_name(const shard& s) {
  return s.sharded() ? str("manifest-", s.index, "-of-", s.count, ".csv") : std::string("manifest.csv");
}

// The sampler's options of a generation run, key=value lines (core/key_value.hpp) beside the manifest:
// sampler.txt, or sampler-<i>-of-<n>.txt for a shard.
inline std::string sampler_file_name(const shard& s) {
  return s.sharded() ? str("sampler-", s.index, "-of-", s.count, ".txt") : std::string("sampler.txt");
}

// Writes generated images as an image folder, DIR/<class>/<class>_NNNNN.png (8-bit gray PNG), which
// data/image_folder.hpp reads back as a dataset; DIR/<manifest_name> with one row per image: file,
// class, seed, index (within the class; with the class it names the image's noise stream, image_stream),
// sampler, steps, guidance; and DIR/<sampler_file_name> with every sampler option.
inline void write_generated(const data::dataset& images, const std::filesystem::path& dir, const generation_options& o) {
  data::csv_rows manifest{{"file", "class", "seed", "index", "sampler", "steps", "guidance"}};
  // Only classes with images get a folder: the image-folder loader takes every folder for a class and
  // rejects empty ones.
  for (const auto& s : images) std::filesystem::create_directories((dir / s.source).parent_path());
  for (const auto& s : images) {
    require(!s.source.empty() && s.frame >= 0, "write_generated: sample '", s.source,
            "' was not made by diffusion::generate (no file name or index)");
    data::write_png(dir / s.source, s.image);
    manifest.push_back({s.source, images.class_names()[static_cast<std::size_t>(s.label)], std::to_string(o.seed),
                        std::to_string(s.frame), std::string(name_of(o.sampler.kind)), std::to_string(o.sampler.steps),
                        value_text(o.sampler.guidance.scale)});
  }
  data::write_csv(dir / manifest_name(o.shard), manifest);
  std::ofstream file(dir / sampler_file_name(o.shard), std::ios::binary);
  file << key_value_text(o.sampler.entries());
  require(static_cast<bool>(file.flush()), (dir / sampler_file_name(o.shard)).string(), ": cannot write the file");
}

}  // namespace diffusion
FERGEN_END_NAMESPACE
