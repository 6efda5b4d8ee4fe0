// fergen/experiment/judge_json.hpp: a judge's result as JSON (`fergen judge --json FILE`): the set-up, both
// classifiers' scores on the same real frames, the CAS overall and per class, the folds, the quality of the
// synthetic set and the warnings. Nothing that varies between runs of one seed (no clock times), so the same
// seed gives a byte-identical file on one machine and thread count.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/experiment/judge.hpp>
#include <fergen/experiment/study_presets.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

inline constexpr const char* judge_schema = "fergen-judge/1";

// What was judged, and with what: the part of the file the run's options decide.
struct judge_setup {
  std::string fergen_version;
  std::string real_source, synthetic_source, test_source;  // in words; test_source empty unless held out
  std::string backbone;
  classifier_settings classifier;
  std::int64_t input_size = 0;  // what the classifier trained at (the option, raised to the backbone's minimum)
  std::uint64_t seed = 0;
  double test_fraction = 0.2;
};

inline nlohmann::ordered_json to_json(const judge_result& r, const judge_setup& s) {
  using json = nlohmann::ordered_json;
  auto optional = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  auto side = [&](const judged_side& x) {
    json recall = json::array();
    for (const auto& v : per_class_recall(x.confusion)) recall.push_back(optional(v));
    return json{{"classifiers", x.classifiers}, {"train_images", x.train_images}, {"test_images", x.test_images},
                {"accuracy", x.accuracy},       {"uf1", x.uf1},                   {"uar", x.uar},
                {"recall", recall},             {"confusion", x.confusion}};
  };
  json j;
  j["schema"] = judge_schema;
  j["fergen_version"] = s.fergen_version;
  j["protocol"] = r.protocol;
  j["protocol_description"] = r.protocol_description;
  j["classes"] = r.class_names;
  std::int64_t real_images = 0;
  for (const auto c : r.real_class_counts) real_images += c;
  j["real"] = json{{"source", s.real_source},
                   {"images", real_images},
                   {"subjects", r.real_subjects},
                   {"class_counts", r.real_class_counts}};
  j["synthetic"] = json{{"source", s.synthetic_source}, {"images", r.synthetic_trained.train_images},
                        {"class_counts", r.synthetic_class_counts}};
  j["test"] = json{{"frames", r.test_frames}, {"source", s.test_source}, {"images", r.real_trained.test_images},
                   {"class_counts", r.test_class_counts}};
  j["classifier"] = json{{"backbone", s.backbone},
                         {"size", s.classifier.size},
                         {"input_size", s.input_size},
                         {"in_channels", s.classifier.in_channels},
                         {"epochs", s.classifier.epochs},
                         {"batch", s.classifier.batch},
                         {"optimizer", s.classifier.optimizer},
                         {"lr", s.classifier.lr},
                         {"schedule", s.classifier.schedule},
                         {"warmup_epochs", s.classifier.warmup_epochs},
                         {"seed", s.seed},
                         {"test_fraction", s.test_fraction}};
  j["real_trained"] = side(r.real_trained);
  j["synthetic_trained"] = side(r.synthetic_trained);
  json classes = json::array();
  for (const auto& k : r.cas_per_class)
    classes.push_back(json{{"class", k.class_name},
                           {"test_images", k.test_images},
                           {"real_trained_recall", optional(k.real_trained_recall)},
                           {"synthetic_trained_recall", optional(k.synthetic_trained_recall)},
                           {"ratio", optional(k.ratio)}});
  j["cas"] = json{{"definition", "synthetic-trained accuracy / real-trained accuracy on the same real test frames "
                                 "(Classification Accuracy Score, Ravuri & Vinyals 2019); per class, the ratio of "
                                 "recalls"},
                  {"ratio", optional(r.cas_ratio)},
                  {"per_class", classes}};
  j["folds"] = json::array();
  for (const auto& f : r.folds)
    j["folds"].push_back(json{{"name", f.name},
                              {"test_images", f.test_images},
                              {"real_trained_accuracy", f.real_trained_accuracy},
                              {"synthetic_trained_accuracy", f.synthetic_trained_accuracy}});
  auto quality = [&](const quality_record& q) {
    return json{{"class", q.class_name},
                {"real_images", q.real_images},
                {"synthetic_images", q.synthetic_images},
                {"fid", optional(q.fid)},
                {"kid_mean", optional(q.kid_mean)},
                {"kid_std", optional(q.kid_std)},
                {"precision", optional(q.precision)},
                {"recall", optional(q.recall)},
                {"memorization_rate", optional(q.memorization_rate)}};
  };
  json per_class = json::array();
  for (std::size_t i = 1; i < r.quality.size(); ++i) per_class.push_back(quality(r.quality[i]));
  j["quality"] = json{{"against", r.quality_against},
                      {"feature_space", r.quality.empty() ? std::string() : r.quality.front().feature_space},
                      {"memorization_space", "gray pixels at the synthetic images' size, against the real frames"},
                      {"all", r.quality.empty() ? json(nullptr) : quality(r.quality.front())},
                      {"per_class", per_class}};
  j["warnings"] = r.warnings;
  return j;
}

inline void write_judge_json(const std::filesystem::path& file, const judge_result& r, const judge_setup& s) {
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  require(out.good(), "judge: cannot write ", file.string());
  out << to_json(r, s).dump(2) << '\n';
  require(out.good(), "judge: writing ", file.string(), " failed");
}

}  // namespace experiment
FERGEN_END_NAMESPACE
