// Tests of experiment/results_json.hpp, aggregate.hpp and report.hpp: results.json round trips, strict
// reading, the CSV schema, the tables laid out like the study's, and the report files.
#include <fergen/experiment/aggregate.hpp>
#include <fergen/experiment/report.hpp>
#include <fergen/experiment/results_json.hpp>

#include "support/errors.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace fergen;
using namespace fergen::experiment;

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A small run's results: two protocols, two settings, one backbone, two trials. The figures are made up; the
// report must lay out whatever it is given.
study_results sample_results() {
  study_results r;
  r.fergen_version = "test";
  r.preset = "unit";
  r.data_source = "made-up results";
  r.backbone_size = "small";
  r.input_size = 48;
  r.epochs = 2;
  r.trials = 2;
  r.seed = 7;
  r.class_names = {"happiness", "disgust", "others"};
  r.real_class_counts = {10, 20, 30};
  r.subjects = 4;
  r.clips = 12;
  for (const char* protocol : {"random", "loso"})
    for (const char* setting : {"real-real", "synth-real"})
      for (std::int64_t trial = 1; trial <= 2; ++trial) {
        trial_record t;
        t.protocol = protocol;
        t.setting = setting;
        t.backbone = "vgg16";
        t.config = "baseline";
        t.trial = trial;
        const bool honest = std::string(protocol) == "loso";
        t.accuracy = honest ? 0.40 + 0.02 * static_cast<double>(trial) : 0.98 + 0.01 * static_cast<double>(trial - 1);
        t.uf1 = t.accuracy - 0.05;
        t.uar = t.accuracy - 0.03;
        t.confusion = {{5, 1, 0}, {2, 8, 0}, {0, 3, 9}};
        t.train_images = 40;
        t.test_images = 28;
        t.folds = {{honest ? "sub01" : "all", honest ? std::vector<std::string>{"sub01"} : std::vector<std::string>{}, 28,
                    t.accuracy}};
        if (std::string(setting) == "real-real") {
          t.clip_overlap = honest ? 0.0 : 1.0;
          t.subject_overlap = honest ? 0.0 : 1.0;
        }
        t.generator_saw_test_subjects = !honest && std::string(setting) == "synth-real";
        t.leaking = !honest;
        t.leak_reason = honest ? "" : "frame-level random split";
        t.history = {{1, 1.2, 0.5}, {2, 0.7, 0.8}};
        r.trials_run.push_back(t);
      }
  r.quality.push_back({"random", "all", "all", "pixels", 60, 30, 12.5, 0.01, 0.002, 0.8, 0.6, 0.1});
  r.quality.push_back({"loso", "sub01", "happiness", "pixels", 3, 10, std::nullopt, std::nullopt, std::nullopt,
                       std::nullopt, std::nullopt, 0.0});
  r.generators.push_back({"random", "all", 60, {}, 100, {{10, 0.9}, {100, 0.2}}, {10, 10, 10}, ""});
  r.warnings = {"random split: 100% of test frames share a clip with training"};
  return r;
}

}  // namespace

TEST_CASE("results.json round-trips exactly and is deterministic") {
  const auto dir = std::filesystem::temp_directory_path() / "fergen-test-study-report-json";
  std::filesystem::create_directories(dir);
  const study_results r = sample_results();
  write_results_json(dir / "results.json", r);
  const study_results back = read_results_json(dir / "results.json");
  CHECK(to_json(back) == to_json(r));
  write_results_json(dir / "again.json", back);
  CHECK(slurp(dir / "results.json") == slurp(dir / "again.json"));
  CHECK(back.trials_run.size() == 8);
  CHECK(back.quality[1].fid == std::nullopt);
  CHECK(back.trials_run[0].clip_overlap == 1.0);
  CHECK(back.trials_run[2].clip_overlap == std::nullopt);  // synth-real: a synthetic side has no clips
}

TEST_CASE("results.json: reading names the bad field and the file") {
  const auto dir = std::filesystem::temp_directory_path() / "fergen-test-study-report-bad";
  std::filesystem::create_directories(dir);
  auto j = to_json(sample_results());
  j["results"][3].erase("uar");
  std::ofstream(dir / "missing.json") << j.dump();
  CHECK(testing::contains(testing::error_of([&] { read_results_json(dir / "missing.json"); }),
                          "missing.json: results[3]: missing field 'uar'"));
  j = to_json(sample_results());
  j["trials"] = "five";
  std::ofstream(dir / "type.json") << j.dump();
  CHECK(testing::contains(testing::error_of([&] { read_results_json(dir / "type.json"); }),
                          "trials: has the wrong type (string)"));
  j = to_json(sample_results());
  j["schema"] = "something-else/9";
  std::ofstream(dir / "schema.json") << j.dump();
  CHECK(testing::contains(testing::error_of([&] { read_results_json(dir / "schema.json"); }),
                          "schema 'something-else/9' is not one this version reads"));
  std::ofstream(dir / "broken.json") << "{\"schema\": ";
  CHECK(testing::contains(testing::error_of([&] { read_results_json(dir / "broken.json"); }), "not valid JSON"));
  CHECK(testing::contains(testing::error_of([&] { read_results_json(dir / "absent.json"); }), "cannot read"));
}

TEST_CASE("results.csv: one row per protocol x setting x backbone x configuration x trial") {
  const auto dir = std::filesystem::temp_directory_path() / "fergen-test-study-report-csv";
  std::filesystem::create_directories(dir);
  write_results_csv(dir / "results.csv", sample_results());
  const auto rows = data::read_csv(dir / "results.csv");
  REQUIRE(rows.size() == 9);
  CHECK(rows[0][0] == "protocol");
  CHECK(rows[0].size() == 16);
  CHECK(rows[1][0] == "random");
  CHECK(rows[1][5] == "0.98");
  CHECK(rows[3][11] == "");  // synth-real: no clip overlap to measure
}

TEST_CASE("summaries: per-trial accuracies, mean, sample std, pooled confusion") {
  const auto cells = summarize(sample_results());
  REQUIRE(cells.size() == 4);
  const cell_summary& c = cells[0];
  CHECK(c.key.protocol == "random");
  CHECK(c.accuracies == std::vector<double>{0.98, 0.99});
  CHECK(c.mean_accuracy == doctest::Approx(0.985));
  CHECK(c.std_accuracy == doctest::Approx(0.00707107).epsilon(1e-5));
  CHECK(c.confusion[0][0] == 10);
  CHECK(c.leaking);
  CHECK(!cells[2].leaking);
}

TEST_CASE("the report: tables like the study's, the comparison, figures and one self-contained page") {
  const auto dir = std::filesystem::temp_directory_path() / "fergen-test-study-report-files";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto files = write_report(dir, sample_results());
  const std::string tables = slurp(files.tables);
  CHECK(testing::contains(tables, "### real-real, baseline (the study's Table 3; protocol random)"));
  CHECK(testing::contains(tables, "### synth-real, baseline (the study's Table 6; protocol loso)"));
  CHECK(testing::contains(tables, "| vgg16 | 98.00 | 99.00 | 98.50 +- 0.71 | 0.935 | 0.955 | random | yes: frame-level"));
  CHECK(testing::contains(tables, "| vgg16 | 42.00 | 44.00 | 43.00 +- 1.41 | 0.380 | 0.400 | loso | no |"));
  const std::string comparison = slurp(files.comparison);
  CHECK(testing::contains(comparison, "| 3 | real-real | baseline | vgg16 | 99.33 | 98.50 | 43.00 |"));
  CHECK(testing::contains(comparison, "| 6 | synth-real | baseline | vgg16 | 96.78 |"));
  const std::string html = slurp(files.html);
  CHECK(testing::contains(html, "<!doctype html>"));
  CHECK(testing::contains(html, "data-images-loaded"));
  CHECK(testing::contains(html, "55.50 points"));  // the gap: 98.5 - 43.0 for real-real (and synth-real)
  std::size_t images = 0;
  for (std::size_t at = html.find("<img"); at != std::string::npos; at = html.find("<img", at + 1)) ++images;
  CHECK(images == 4);  // one confusion matrix per cell (the generator has no grid in this sample)
  CHECK(html.find("src=\"figures/") == std::string::npos);  // self-contained: images are embedded
  for (const auto& f : files.figures) CHECK(std::filesystem::file_size(f) > 100);
}
