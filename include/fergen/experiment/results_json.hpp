// fergen/experiment/results_json.hpp: study_results <-> results.json, and the flat results.csv.
//
// results.json holds everything the report is built from and nothing that varies between runs of the same
// seed (no clock times, no host names), so two runs with one seed give byte-identical files on one machine
// and thread count. Reading is strict: a missing or mistyped field is an error naming the field and file.
//
// Schemas: fergen-study-results/2 added `cas` (the CAS of every synth-real row, experiment/cas.hpp); a /1 file
// is still read, its CAS computed from the confusions it holds, so old runs keep their reports.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/npy.hpp>
#include <fergen/data/csv.hpp>
#include <fergen/experiment/cas.hpp>
#include <fergen/experiment/study_results.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

namespace detail {

using json = nlohmann::ordered_json;  // keeps the fields in the order written: readable, stable diffs

inline json optional_number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

inline constexpr const char* results_schema_v1 = "fergen-study-results/1";
inline constexpr const char* results_schema = "fergen-study-results/2";

// Reading with the path of the field in every message ("trials[3].accuracy").
class reader {
 public:
  reader(const json& j, std::string path) : j_(j), path_(std::move(path)) {}

  const json& field(const char* key) const {
    require(j_.is_object(), path_, ": expected an object");
    const auto it = j_.find(key);
    require(it != j_.end(), path_, ": missing field '", key, "'");
    return *it;
  }
  std::string at(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

  template <class T>
  T get(const char* key) const {
    const json& v = field(key);
    try {
      return v.get<T>();
    } catch (const nlohmann::json::exception&) {
      fail(at(key), ": has the wrong type (", v.type_name(), ")");
    }
  }
  std::optional<double> optional(const char* key) const {
    const json& v = field(key);
    if (v.is_null()) return std::nullopt;
    require(v.is_number(), at(key), ": expected a number or null, found ", v.type_name());
    return v.get<double>();
  }
  template <class F>
  auto list(const char* key, F&& element) const {
    const json& v = field(key);
    require(v.is_array(), at(key), ": expected an array, found ", v.type_name());
    std::vector<decltype(element(reader(v, "")))> out;
    for (std::size_t i = 0; i < v.size(); ++i) out.push_back(element(reader(v[i], str(at(key), "[", i, "]"))));
    return out;
  }
  const json& value() const { return j_; }
  const std::string& path() const { return path_; }

 private:
  const json& j_;
  std::string path_;
};

}  // namespace detail

inline detail::json to_json(const study_results& r) {
  using detail::json;
  json j;
  j["schema"] = r.schema;
  j["fergen_version"] = r.fergen_version;
  j["preset"] = r.preset;
  j["data_source"] = r.data_source;
  j["backbone_size"] = r.backbone_size;
  j["input_size"] = r.input_size;
  j["epochs"] = r.epochs;
  j["trials"] = r.trials;
  j["seed"] = r.seed;
  j["class_names"] = r.class_names;
  j["real_class_counts"] = r.real_class_counts;
  j["subjects"] = r.subjects;
  j["clips"] = r.clips;
  j["results"] = json::array();
  for (const auto& t : r.trials_run) {
    json row;
    row["protocol"] = t.protocol;
    row["setting"] = t.setting;
    row["backbone"] = t.backbone;
    row["config"] = t.config;
    row["trial"] = t.trial;
    row["accuracy"] = t.accuracy;
    row["uf1"] = t.uf1;
    row["uar"] = t.uar;
    row["confusion"] = t.confusion;
    row["train_images"] = t.train_images;
    row["test_images"] = t.test_images;
    row["folds"] = json::array();
    for (const auto& f : t.folds)
      row["folds"].push_back(json{{"name", f.name},
                                  {"test_subjects", f.test_subjects},
                                  {"test_images", f.test_images},
                                  {"accuracy", f.accuracy}});
    row["clip_overlap"] = detail::optional_number(t.clip_overlap);
    row["subject_overlap"] = detail::optional_number(t.subject_overlap);
    row["generator_saw_test_subjects"] = t.generator_saw_test_subjects;
    row["leaking"] = t.leaking;
    row["leak_reason"] = t.leak_reason;
    row["history"] = json::array();
    for (const auto& e : t.history)
      row["history"].push_back(
          json{{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"train_accuracy", e.train_accuracy}});
    j["results"].push_back(std::move(row));
  }
  j["quality"] = json::array();
  for (const auto& q : r.quality)
    j["quality"].push_back(json{{"protocol", q.protocol},
                                {"fold", q.fold},
                                {"class", q.class_name},
                                {"feature_space", q.feature_space},
                                {"real_images", q.real_images},
                                {"synthetic_images", q.synthetic_images},
                                {"fid", detail::optional_number(q.fid)},
                                {"kid_mean", detail::optional_number(q.kid_mean)},
                                {"kid_std", detail::optional_number(q.kid_std)},
                                {"precision", detail::optional_number(q.precision)},
                                {"recall", detail::optional_number(q.recall)},
                                {"memorization_rate", detail::optional_number(q.memorization_rate)}});
  j["generators"] = json::array();
  for (const auto& g : r.generators) {
    json curve = json::array();
    for (const auto& [step, loss] : g.loss_curve) curve.push_back(json::array({step, loss}));
    j["generators"].push_back(json{{"protocol", g.protocol},
                                   {"fold", g.fold},
                                   {"train_images", g.train_images},
                                   {"held_out_subjects", g.held_out_subjects},
                                   {"steps", g.steps},
                                   {"loss_curve", curve},
                                   {"synthetic_counts", g.synthetic_counts},
                                   {"sample_grid", g.sample_grid}});
  }
  j["cas"] = json::array();
  for (const auto& c : r.cas) {
    json classes = json::array();
    for (const auto& k : c.classes)
      classes.push_back(json{{"class", k.class_name},
                             {"test_images", k.test_images},
                             {"real_trained_recall", detail::optional_number(k.real_trained_recall)},
                             {"synthetic_trained_recall", detail::optional_number(k.synthetic_trained_recall)},
                             {"ratio", detail::optional_number(k.ratio)}});
    j["cas"].push_back(json{{"protocol", c.protocol},
                            {"backbone", c.backbone},
                            {"config", c.config},
                            {"trial", c.trial},
                            {"real_trained_accuracy", c.real_trained_accuracy},
                            {"synthetic_trained_accuracy", c.synthetic_trained_accuracy},
                            {"ratio", detail::optional_number(c.ratio)},
                            {"classes", classes}});
  }
  j["warnings"] = r.warnings;
  return j;
}

inline study_results study_results_from_json(const detail::json& j, const std::string& origin) {
  const detail::reader top(j, "");
  study_results r;
  try {
    r.schema = top.get<std::string>("schema");
    require(r.schema == detail::results_schema || r.schema == detail::results_schema_v1, "schema '", r.schema,
            "' is not one this version reads (", detail::results_schema, ", ", detail::results_schema_v1, ")");
    r.fergen_version = top.get<std::string>("fergen_version");
    r.preset = top.get<std::string>("preset");
    r.data_source = top.get<std::string>("data_source");
    r.backbone_size = top.get<std::string>("backbone_size");
    r.input_size = top.get<std::int64_t>("input_size");
    r.epochs = top.get<std::int64_t>("epochs");
    r.trials = top.get<std::int64_t>("trials");
    r.seed = top.get<std::int64_t>("seed");
    r.class_names = top.get<std::vector<std::string>>("class_names");
    r.real_class_counts = top.get<std::vector<std::int64_t>>("real_class_counts");
    r.subjects = top.get<std::int64_t>("subjects");
    r.clips = top.get<std::int64_t>("clips");
    r.trials_run = top.list("results", [&](const detail::reader& row) {
      trial_record t;
      t.protocol = row.get<std::string>("protocol");
      t.setting = row.get<std::string>("setting");
      t.backbone = row.get<std::string>("backbone");
      t.config = row.get<std::string>("config");
      t.trial = row.get<std::int64_t>("trial");
      t.accuracy = row.get<double>("accuracy");
      t.uf1 = row.get<double>("uf1");
      t.uar = row.get<double>("uar");
      t.confusion = row.get<std::vector<std::vector<std::int64_t>>>("confusion");
      require(t.confusion.size() == r.class_names.size(), row.at("confusion"), ": ", t.confusion.size(),
              " rows for ", r.class_names.size(), " classes");
      t.train_images = row.get<std::int64_t>("train_images");
      t.test_images = row.get<std::int64_t>("test_images");
      t.folds = row.list("folds", [](const detail::reader& f) {
        return fold_record{f.get<std::string>("name"), f.get<std::vector<std::string>>("test_subjects"),
                           f.get<std::int64_t>("test_images"), f.get<double>("accuracy")};
      });
      t.clip_overlap = row.optional("clip_overlap");
      t.subject_overlap = row.optional("subject_overlap");
      t.generator_saw_test_subjects = row.get<bool>("generator_saw_test_subjects");
      t.leaking = row.get<bool>("leaking");
      t.leak_reason = row.get<std::string>("leak_reason");
      t.history = row.list("history", [](const detail::reader& e) {
        return epoch_record{e.get<std::int64_t>("epoch"), e.get<double>("train_loss"), e.get<double>("train_accuracy")};
      });
      return t;
    });
    r.quality = top.list("quality", [](const detail::reader& q) {
      quality_record x;
      x.protocol = q.get<std::string>("protocol");
      x.fold = q.get<std::string>("fold");
      x.class_name = q.get<std::string>("class");
      x.feature_space = q.get<std::string>("feature_space");
      x.real_images = q.get<std::int64_t>("real_images");
      x.synthetic_images = q.get<std::int64_t>("synthetic_images");
      x.fid = q.optional("fid");
      x.kid_mean = q.optional("kid_mean");
      x.kid_std = q.optional("kid_std");
      x.precision = q.optional("precision");
      x.recall = q.optional("recall");
      x.memorization_rate = q.optional("memorization_rate");
      return x;
    });
    r.generators = top.list("generators", [](const detail::reader& g) {
      generator_record x;
      x.protocol = g.get<std::string>("protocol");
      x.fold = g.get<std::string>("fold");
      x.train_images = g.get<std::int64_t>("train_images");
      x.held_out_subjects = g.get<std::vector<std::string>>("held_out_subjects");
      x.steps = g.get<std::int64_t>("steps");
      x.loss_curve = g.get<std::vector<std::pair<std::int64_t, double>>>("loss_curve");
      x.synthetic_counts = g.get<std::vector<std::int64_t>>("synthetic_counts");
      x.sample_grid = g.get<std::string>("sample_grid");
      return x;
    });
    if (r.schema == detail::results_schema_v1) {
      // Written before the CAS was recorded: computed from the rows' confusions, and the file read as /2.
      r.cas = compute_cas(r);
      r.schema = detail::results_schema;
    } else {
      r.cas = top.list("cas", [](const detail::reader& c) {
        cas_record x;
        x.protocol = c.get<std::string>("protocol");
        x.backbone = c.get<std::string>("backbone");
        x.config = c.get<std::string>("config");
        x.trial = c.get<std::int64_t>("trial");
        x.real_trained_accuracy = c.get<double>("real_trained_accuracy");
        x.synthetic_trained_accuracy = c.get<double>("synthetic_trained_accuracy");
        x.ratio = c.optional("ratio");
        x.classes = c.list("classes", [](const detail::reader& k) {
          return class_cas{k.get<std::string>("class"), k.get<std::int64_t>("test_images"),
                           k.optional("real_trained_recall"), k.optional("synthetic_trained_recall"),
                           k.optional("ratio")};
        });
        return x;
      });
    }
    r.warnings = top.get<std::vector<std::string>>("warnings");
  } catch (const error& e) {
    fail(origin, ": ", e.what());
  }
  return r;
}

// Atomically (a temporary file renamed over it): a run killed while writing leaves the file of its last cell, which
// a restarted run reads to skip what is done.
inline void write_results_json(const std::filesystem::path& file, const study_results& r) {
  fergen::detail::write_atomically(file, to_json(r).dump(2) + '\n');
}

inline study_results read_results_json(const std::filesystem::path& file) {
  const std::optional<std::string> text = fergen::detail::read_text(file);
  require(text.has_value(), "cannot read ", file.string(), " (no such file, or not readable)");
  detail::json j;
  try {
    j = detail::json::parse(*text);
  } catch (const nlohmann::json::parse_error& e) {
    fail(file.string(), ": not valid JSON (", e.what(), ")");
  }
  return study_results_from_json(j, file.string());
}

namespace detail {

inline std::string csv_number(double v) {
  std::ostringstream s;
  s.precision(6);
  s << v;
  return s.str();
}
inline std::string csv_optional(const std::optional<double>& v) { return v ? csv_number(*v) : std::string(); }

}  // namespace detail

// One row per protocol x setting x backbone x configuration x trial (the schema README documents). cas_ratio:
// synth-real rows only (their accuracy / the real-real row's of the same protocol, backbone, configuration and
// trial); empty elsewhere.
inline void write_results_csv(const std::filesystem::path& file, const study_results& r) {
  data::csv_rows rows{{"protocol", "setting", "backbone", "config", "trial", "accuracy", "uf1", "uar", "train_images",
                       "test_images", "folds", "clip_overlap", "subject_overlap", "generator_saw_test_subjects",
                       "leaking", "leak_reason", "cas_ratio"}};
  auto cas_of = [&](const trial_record& t) -> std::optional<double> {
    if (t.setting != "synth-real") return std::nullopt;
    for (const auto& c : r.cas)
      if (c.protocol == t.protocol && c.backbone == t.backbone && c.config == t.config && c.trial == t.trial)
        return c.ratio;
    return std::nullopt;
  };
  for (const auto& t : r.trials_run)
    rows.push_back({t.protocol, t.setting, t.backbone, t.config, std::to_string(t.trial), detail::csv_number(t.accuracy),
                    detail::csv_number(t.uf1), detail::csv_number(t.uar), std::to_string(t.train_images),
                    std::to_string(t.test_images), std::to_string(t.folds.size()), detail::csv_optional(t.clip_overlap),
                    detail::csv_optional(t.subject_overlap), t.generator_saw_test_subjects ? "true" : "false",
                    t.leaking ? "true" : "false", t.leak_reason, detail::csv_optional(cas_of(t))});
  data::write_csv(file, rows);
}

// The per-class CAS: one row per synth-real row (protocol x backbone x configuration x trial) and class: the real
// test frames of the class, the recall of the real-trained classifier (the real-real row's) and of the
// synthetic-trained one (the synth-real row's) on them, and their ratio (empty where a recall is undefined).
inline void write_results_per_class_csv(const std::filesystem::path& file, const study_results& r) {
  data::csv_rows rows{{"protocol", "backbone", "config", "trial", "class", "test_images", "real_trained_recall",
                       "synthetic_trained_recall", "cas_ratio"}};
  for (const auto& c : r.cas)
    for (const auto& k : c.classes)
      rows.push_back({c.protocol, c.backbone, c.config, std::to_string(c.trial), k.class_name,
                      std::to_string(k.test_images), detail::csv_optional(k.real_trained_recall),
                      detail::csv_optional(k.synthetic_trained_recall), detail::csv_optional(k.ratio)});
  data::write_csv(file, rows);
}

}  // namespace experiment
FERGEN_END_NAMESPACE
