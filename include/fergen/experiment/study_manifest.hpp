// fergen/experiment/study_manifest.hpp: what a results folder is a run of (its plan.json): the identity of the
// plan (every setting that changes a number, the real frames' checksum, fergen's version), which shard of the grid
// the folder holds, and the grid's axes, units and generators in the order of an unsharded run. A restarted run
// knows its own folder by it; `fergen merge` checks by it that shards belong to one run, and orders their rows.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/key_value.hpp>
#include <fergen/core/npy.hpp>
#include <fergen/core/shard.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/experiment/study_presets.hpp>
#include <fergen/experiment/study_results.hpp>
#include <fergen/experiment/study_shards.hpp>
#include <fergen/experiment/study_work.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

// FNV-1a over every frame's label, subject, clip, frame number and pixels: two sources are the same data when
// their checksums agree (a path alone would not say that the folder behind it changed).
inline std::uint64_t dataset_checksum(const data::dataset& d) {
  std::uint64_t h = 14695981039346656037ull;
  auto mix = [&](const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  };
  for (const auto& s : d) {
    mix(&s.label, sizeof s.label);
    mix(s.subject.data(), s.subject.size());
    mix("/", 1);
    mix(s.clip.data(), s.clip.size());
    mix(&s.frame, sizeof s.frame);
    const std::int64_t dims[3] = {s.image.channels, s.image.height, s.image.width};
    mix(dims, sizeof dims);
    mix(s.image.pixels.data(), s.image.pixels.size() * sizeof(float));
  }
  return h;
}

// Every setting of a study that changes its numbers, as key=value entries. `extra`: what the caller adds (the
// tool: pretrained weights, a given synthetic set, the device kind).
inline key_value_list study_identity(const study_preset& p, const study_results& header, const data::dataset& real,
                                     const key_value_list& extra = {}) {
  auto names = [](const auto& values) {
    std::vector<std::string> out;
    for (const auto& v : values) out.emplace_back(name(v));
    return out;
  };
  const study_plan& plan = p.plan;
  const generator_settings& g = p.generator;
  const classifier_settings& c = p.classifier;
  std::string tuning;
  for (const auto& t : c.tuning)
    tuning += str(tuning.empty() ? "" : ";", t.backbone, ":", value_text(t.input_size), ":", value_text(t.batch), ":",
                  value_text(t.lr), ":", value_text(t.dropout));
  key_value_writer w;
  w.add("fergen_version", header.fergen_version)
      .add("preset", header.preset)
      .add("data", header.data_source)
      .add("data_frames", real.size())
      .add("data_checksum", dataset_checksum(real))
      .add("backbones", plan.backbones)
      .add("settings", names(plan.settings))
      .add("configs", names(plan.configs))
      .add("protocols", names(plan.protocols))
      .add("trials", plan.trials)
      .add("folds", plan.folds)
      .add("generator_folds", plan.generator_folds)
      .add("test_fraction", plan.test_fraction)
      .add("seed", plan.seed)
      .add("generator.preset", g.preset)
      .add("generator.image_size", g.image_size)
      .add("generator.steps", g.steps)
      .add("generator.epochs", g.epochs)
      .add("generator.batch", g.batch)
      .add("generator.base_channels", g.base_channels)
      .add("generator.sampling_steps", g.sampling_steps)
      .add("generator.study_counts", g.study_counts)
      .add("generator.per_class", g.per_class)
      .add("generator.grid_per_class", g.grid_per_class)
      .add("classifier.size", c.size)
      .add("classifier.input_size", c.input_size)
      .add("classifier.in_channels", c.in_channels)
      .add("classifier.epochs", c.epochs)
      .add("classifier.batch", c.batch)
      .add("classifier.optimizer", c.optimizer)
      .add("classifier.lr", c.lr)
      .add("classifier.warmup_epochs", c.warmup_epochs)
      .add("classifier.schedule", c.schedule)
      .add("classifier.freeze_fraction", c.freeze_fraction)
      .add("classifier.dropout", c.dropout)
      .add("classifier.tuning", tuning)
      .add("feature_backbone", p.feature_backbone.empty() ? plan.backbones.front() : p.feature_backbone);
  key_value_list out = w.entries();
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

// The first entry in which two identities differ, in words ("seed=1 in A, seed=2 in B"); empty when they agree.
inline std::string identity_difference(const key_value_list& a, const key_value_list& b, const std::string& a_name,
                                       const std::string& b_name) {
  const key_value_map mb(b.begin(), b.end());
  for (const auto& [k, v] : a) {
    const auto it = mb.find(k);
    if (it == mb.end()) return str(k, "=", v, " in ", a_name, ", no ", k, " in ", b_name);
    if (it->second != v) return str(k, "=", v, " in ", a_name, ", ", k, "=", it->second, " in ", b_name);
  }
  const key_value_map ma(a.begin(), a.end());
  for (const auto& [k, v] : b)
    if (!ma.contains(k)) return str("no ", k, " in ", a_name, ", ", k, "=", v, " in ", b_name);
  return {};
}

// A results row's key (one trial of one cell of the grid): protocol/trial/configuration/setting/backbone.
inline std::string row_key(const std::string& protocol, std::int64_t trial, const std::string& config,
                            const std::string& setting, const std::string& backbone) {
  return str(protocol, "/", trial, "/", config, "/", setting, "/", backbone);
}
inline std::string row_key(const trial_record& r) {
  return row_key(r.protocol, r.trial, r.config, r.setting, r.backbone);
}

struct study_manifest {
  key_value_list identity;
  fergen::shard part;  // 0/1: the whole grid
  std::filesystem::path generators;  // the generator folder
  bool shared_generators = false;    // given by the user (shards read each other's) or the run's own
  // The threads the shard ran with. Not part of the identity (shards may run on machines of any size), but the
  // last digits of the numbers depend on it: the same seed gives byte-identical files at the same thread count.
  std::int64_t threads = 0;
  std::vector<std::string> protocols, configs, settings, backbones;
  std::int64_t trials = 0;
  std::vector<std::string> units;          // every unit of the grid, in grid order (study_work.hpp's keys)
  std::vector<std::int64_t> unit_shard;    // per unit, its shard
  std::vector<std::string> generator_keys;  // every generator, in training order

  // The rows of this shard (row_key), in the order of an unsharded run (protocol, trial, configuration, setting, backbone).
  std::vector<std::string> cells_of(std::int64_t shard) const {
    std::vector<std::string> out;
    for (const auto& p : protocols)
      for (std::int64_t t = 1; t <= trials; ++t)
        for (const auto& c : configs)
          for (const auto& s : settings)
            for (const auto& b : backbones)
              if (shard_of_unit(unit_key(p, t, c, b)) == shard) out.push_back(row_key(p, t, c, s, b));
    return out;
  }
  std::int64_t shard_of_unit(const std::string& unit) const {
    for (std::size_t u = 0; u < units.size(); ++u)
      if (units[u] == unit) return unit_shard[u];
    fail("plan.json: no unit ", unit);
  }
  std::string identity_text() const { return key_value_text(identity); }
};

// The manifest of shard `part` of the work, as assigned.
inline study_manifest make_manifest(key_value_list identity, fergen::shard part, const study_plan& plan,
                                    const study_work& work, const shard_assignment& assignment,
                                    std::filesystem::path generators, bool shared_generators, std::int64_t threads) {
  study_manifest m;
  m.identity = std::move(identity);
  m.part = part;
  m.generators = std::move(generators);
  m.shared_generators = shared_generators;
  m.threads = threads;
  for (const auto p : plan.protocols) m.protocols.emplace_back(name(p));
  for (const auto c : plan.configs) m.configs.emplace_back(name(c));
  for (const auto s : plan.settings) m.settings.emplace_back(name(s));
  m.backbones = plan.backbones;
  m.trials = plan.trials;
  for (const auto& u : work.units) m.units.push_back(u.key());
  m.unit_shard = assignment.unit_shard;
  for (const auto& g : work.generators) m.generator_keys.push_back(g.key());
  return m;
}

inline void write_manifest(const std::filesystem::path& file, const study_manifest& m) {
  nlohmann::ordered_json j;
  j["schema"] = "fergen-study-plan/1";
  j["shard"] = m.part.text();
  j["generators"] = m.generators.string();
  j["shared_generators"] = m.shared_generators;
  j["threads"] = m.threads;
  nlohmann::ordered_json id = nlohmann::ordered_json::object();
  for (const auto& [k, v] : m.identity) id[k] = v;
  j["identity"] = id;
  j["protocols"] = m.protocols;
  j["trials"] = m.trials;
  j["configs"] = m.configs;
  j["settings"] = m.settings;
  j["backbones"] = m.backbones;
  j["units"] = nlohmann::ordered_json::array();
  for (std::size_t u = 0; u < m.units.size(); ++u)
    j["units"].push_back(nlohmann::ordered_json{{"unit", m.units[u]}, {"shard", m.unit_shard[u]}});
  j["generator_keys"] = m.generator_keys;
  fergen::detail::write_atomically(file, j.dump(2) + "\n");
}

inline study_manifest read_manifest(const std::filesystem::path& file) {
  const std::optional<std::string> text = fergen::detail::read_text(file);
  require(text.has_value(), file.string(), ": cannot read (is the folder a `fergen study` results folder?)");
  study_manifest m;
  try {
    const auto j = nlohmann::ordered_json::parse(*text);
    require(j.at("schema") == "fergen-study-plan/1", "schema ", j.at("schema").dump(), " is not fergen-study-plan/1");
    m.part = fergen::shard::parse(j.at("shard").get<std::string>());
    m.generators = j.at("generators").get<std::string>();
    m.shared_generators = j.at("shared_generators").get<bool>();
    m.threads = j.at("threads").get<std::int64_t>();
    for (const auto& [k, v] : j.at("identity").items()) m.identity.emplace_back(k, v.get<std::string>());
    m.protocols = j.at("protocols").get<std::vector<std::string>>();
    m.trials = j.at("trials").get<std::int64_t>();
    m.configs = j.at("configs").get<std::vector<std::string>>();
    m.settings = j.at("settings").get<std::vector<std::string>>();
    m.backbones = j.at("backbones").get<std::vector<std::string>>();
    for (const auto& u : j.at("units")) {
      m.units.push_back(u.at("unit").get<std::string>());
      m.unit_shard.push_back(u.at("shard").get<std::int64_t>());
    }
    m.generator_keys = j.at("generator_keys").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    fail(file.string(), ": not a study plan file: ", e.what());
  } catch (const error& e) {
    fail(file.string(), ": ", e.what());
  }
  return m;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
