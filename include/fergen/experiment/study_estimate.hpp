// fergen/experiment/study_estimate.hpp: how long a study's work takes, from measured throughput. Each network's
// images per second, training and inference, measured at one input size, stand for every size by pixel count (the
// convolutions' work grows with it). The reference figures are fergen's own, measured on the machine of the
// README's performance tables; the sharding's balance is computed from them on every machine, so every shard of
// a run splits the grid the same way.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/key_value.hpp>
#include <fergen/data/csv.hpp>
#include <fergen/diffusion/presets.hpp>
#include <fergen/experiment/study_presets.hpp>
#include <fergen/experiment/study_work.hpp>
#include <fergen/models/backbone_names.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

// A network's measured images per second.
struct network_rate {
  std::string network;  // "vgg16", "vgg16_small", ..., "unet_demo", "unet_study"
  std::int64_t input = 0;  // the side of the square input it was measured at
  double train = 0;        // training steps (forward, loss, backward, update), images per second
  double infer = 0;        // inference (the UNet: one denoising step), images per second
};

struct throughput_table {
  std::string source;  // what measured the figures, where and when
  std::vector<network_rate> rates;

  const network_rate& at(const std::string& network) const {
    for (const auto& r : rates)
      if (r.network == network) return r;
    fail("throughput: no figure for '", network, "' in ", source);
  }
  // Seconds per image at `input` x `input`.
  double train_seconds(const std::string& network, std::int64_t input) const { return scaled(at(network), input, at(network).train); }
  double infer_seconds(const std::string& network, std::int64_t input) const { return scaled(at(network), input, at(network).infer); }

 private:
  static double scaled(const network_rate& r, std::int64_t input, double per_second) {
    const double pixels = static_cast<double>(input) * static_cast<double>(input);
    return pixels / (static_cast<double>(r.input) * static_cast<double>(r.input)) / per_second;
  }
};

// fergen's figures from README's performance tables: `bench_backbones --threads 2` (full size, batch 8, 160x160),
// `bench_backbones --threads 2 --size small` (batch 16; Inception at 107x107), `bench_unet --preset demo` (0.26M,
// 32x32) and `--preset benchmark` (14M, 48x48: the study's UNet stands in for it), commit d3fb985.
inline throughput_table reference_throughput() {
  return {"fergen's CPU figures on an AMD EPYC (AVX-512), 2 threads, OpenBLAS + oneDNN 2.6.3 (bench_backbones and "
          "bench_unet, 2026-12-07)",
          {{"vgg16", 160, 5.7, 18.0},
           {"resnet50", 160, 14.1, 55.8},
           {"inception_v3", 160, 20.6, 70.6},
           {"vgg16_small", 48, 848.8, 2555.9},
           {"resnet50_small", 48, 1404.0, 5268.2},
           {"inception_v3_small", 107, 369.8, 1304.1},
           {"unet_demo", 32, 422.0, 1284.6},
           {"unet_study", 48, 10.7, 33.0}}};
}

// A table as CSV rows (network,input,train,infer: images per second), the form --throughput reads.
inline data::csv_rows throughput_rows(const throughput_table& t) {
  data::csv_rows rows{{"network", "input", "train", "infer"}};
  for (const auto& r : t.rates)
    rows.push_back({r.network, value_text(r.input), value_text(r.train), value_text(r.infer)});
  return rows;
}

// Figures measured elsewhere (a GPU, another CPU), in throughput_rows' form; every network the run trains must be
// in it.
inline throughput_table read_throughput_csv(const std::filesystem::path& file) {
  const data::csv_rows rows = data::read_csv(file);
  require(!rows.empty() && rows.front() == std::vector<std::string>{"network", "input", "train", "infer"},
          file.string(), ": the first line must be network,input,train,infer");
  throughput_table t{"the figures of " + file.string(), {}};
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const auto& row = rows[i];
    require(row.size() == 4, file.string(), ": line ", i + 1, " has ", row.size(), " fields, not 4");
    const auto input = parse_value<std::int64_t>(row[1]);
    const auto train = parse_value<double>(row[2]), infer = parse_value<double>(row[3]);
    require(input && *input > 0 && train && *train > 0 && infer && *infer > 0, file.string(), ": line ", i + 1,
            ": input, train and infer must be positive numbers");
    t.rates.push_back({row[0], *input, *train, *infer});
  }
  return t;
}

// What the estimate needs besides the work list: the preset's generator (with its diffusion preset's batch, length
// and sampler) and classifiers.
struct estimate_settings {
  generator_settings generator;
  classifier_settings classifier;
  std::string feature_backbone;  // the quality metrics' (a classifier trained per generator)
  std::int64_t generator_batch = 0;
  std::int64_t generator_steps = 0;  // the diffusion preset's length (generator_settings::training_steps decides)
  std::int64_t sampling_steps = 0;

  static estimate_settings of(const study_preset& p, std::int64_t classes) {
    const diffusion::preset d = diffusion::presets::by_name(p.generator.preset, classes);
    estimate_settings s{p.generator, p.classifier,
                        p.feature_backbone.empty() ? p.plan.backbones.front() : p.feature_backbone,
                        p.generator.batch > 0 ? p.generator.batch : d.trainer.batch, d.trainer.steps,
                        p.generator.sampling_steps > 0 ? p.generator.sampling_steps : d.sampler.steps};
    return s;
  }
};

// The name a table knows a classifier by: "resnet50" (full) or "resnet50_small".
inline std::string rate_name(const std::string& backbone, const std::string& size) {
  return size == "small" ? backbone + "_small" : backbone;
}

// Seconds to train a classifier on `c.train_images` for the settings' epochs and test it.
inline double classifier_seconds(const classifier_work& c, const std::string& backbone, const estimate_settings& s,
                                 const throughput_table& t) {
  const classifier_settings cs = s.classifier.for_backbone(backbone);
  const std::int64_t input = cs.input_for(models::parse_backbone(backbone));
  const std::string net = rate_name(backbone, cs.size);
  return static_cast<double>(cs.epochs * c.train_images) * t.train_seconds(net, input) +
         static_cast<double>(c.test_images) * t.infer_seconds(net, input);
}

// Seconds to train a generator, make its images and measure them (a feature classifier trained on its frames).
inline double generator_seconds(const generator_work& g, const estimate_settings& s, const throughput_table& t) {
  const std::string unet = s.generator.preset == "demo" ? "unet_demo" : "unet_study";
  const std::int64_t steps = s.generator.training_steps(g.train_frames, s.generator_batch, s.generator_steps);
  const double training = static_cast<double>(steps * s.generator_batch) * t.train_seconds(unet, s.generator.image_size);
  const double sampling_seconds =
      static_cast<double>(g.images * s.sampling_steps) * t.infer_seconds(unet, s.generator.image_size);
  const classifier_work features{false, g.train_frames, g.train_frames + g.images};
  return training + sampling_seconds + classifier_seconds(features, s.feature_backbone, s, t);
}

inline double unit_seconds(const unit_work& u, const estimate_settings& s, const throughput_table& t) {
  double seconds = 0;
  for (const auto& c : u.classifiers) seconds += classifier_seconds(c, u.backbone, s, t);
  return seconds;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
