// Tests of experiment/results_json.hpp, aggregate.hpp, cas.hpp and report.hpp: results.json round trips, strict
// reading (and the older schema), the CSV schemas, the CAS against hand-computed values, the tables laid out like
// the study's, and the report files.
#include <fergen/experiment/aggregate.hpp>
#include <fergen/experiment/cas.hpp>
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
        const bool synthetic = std::string(setting) == "synth-real";
        // CAS per trial: random 0.49 / 0.98 = 0.5 and 0.594 / 0.99 = 0.6; loso 0.21 / 0.42 = 0.5, 0.33 / 0.44 = 0.75.
        if (!synthetic)
          t.accuracy = honest ? 0.40 + 0.02 * static_cast<double>(trial) : 0.98 + 0.01 * static_cast<double>(trial - 1);
        else
          t.accuracy = honest ? (trial == 1 ? 0.21 : 0.33) : (trial == 1 ? 0.49 : 0.594);
        t.uf1 = t.accuracy - 0.05;
        t.uar = t.accuracy - 0.03;
        // The same 28 real test frames (6, 10, 12 per class) in both settings: recalls 5/6, 8/10, 9/12 when trained
        // on real frames, 3/6, 4/10, 6/12 when trained on synthetic images.
        t.confusion = synthetic ? std::vector<std::vector<std::int64_t>>{{3, 3, 0}, {5, 4, 1}, {0, 6, 6}}
                                : std::vector<std::vector<std::int64_t>>{{5, 1, 0}, {2, 8, 0}, {0, 3, 9}};
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
  r.cas = compute_cas(r);
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
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
  REQUIRE(rows[0].size() == 17);
  CHECK(rows[0][16] == "cas_ratio");
  CHECK(rows[1][0] == "random");
  CHECK(rows[1][5] == "0.98");
  CHECK(rows[1][16] == "");  // real-real: no CAS
  CHECK(rows[3][11] == "");  // synth-real: no clip overlap to measure
  // synth-real rows: their accuracy over the real-real row's of the same protocol, backbone, configuration, trial.
  CHECK(rows[3][1] == "synth-real");
  CHECK(rows[3][16] == "0.5");   // random trial 1: 0.49 / 0.98
  CHECK(rows[4][16] == "0.6");   // random trial 2: 0.594 / 0.99
  CHECK(rows[7][16] == "0.5");   // loso trial 1: 0.21 / 0.42
  CHECK(rows[8][16] == "0.75");  // loso trial 2: 0.33 / 0.44
}

TEST_CASE("results_per_class.csv: per synth-real row and class, both recalls on the real test frames and their ratio") {
  const auto dir = std::filesystem::temp_directory_path() / "fergen-test-study-report-per-class";
  std::filesystem::create_directories(dir);
  write_results_per_class_csv(dir / "results_per_class.csv", sample_results());
  const auto rows = data::read_csv(dir / "results_per_class.csv");
  REQUIRE(rows.size() == 1 + 4 * 3);  // (2 protocols x 2 trials) synth-real rows x 3 classes
  CHECK(rows[0] == std::vector<std::string>{"protocol", "backbone", "config", "trial", "class", "test_images",
                                            "real_trained_recall", "synthetic_trained_recall", "cas_ratio"});
  CHECK(rows[1] == std::vector<std::string>{"random", "vgg16", "baseline", "1", "happiness", "6", "0.833333", "0.5", "0.6"});
  CHECK(rows[2] == std::vector<std::string>{"random", "vgg16", "baseline", "1", "disgust", "10", "0.8", "0.4", "0.5"});
  CHECK(rows[3] == std::vector<std::string>{"random", "vgg16", "baseline", "1", "others", "12", "0.75", "0.5", "0.666667"});
  CHECK(rows[12][0] == "loso");
  CHECK(rows[12][3] == "2");
}

TEST_CASE("CAS: per trial, per class and of the means, against hand-computed values") {
  const study_results r = sample_results();
  const auto cas = compute_cas(r);
  REQUIRE(cas.size() == 4);  // one per synth-real row, each with its real-real twin
  CHECK(cas[0].protocol == "random");
  CHECK(cas[0].trial == 1);
  CHECK(cas[0].real_trained_accuracy == 0.98);
  CHECK(cas[0].synthetic_trained_accuracy == 0.49);
  CHECK(*cas[0].ratio == doctest::Approx(0.5));
  CHECK(*cas[1].ratio == doctest::Approx(0.6));
  CHECK(*cas[2].ratio == doctest::Approx(0.5));
  CHECK(*cas[3].ratio == doctest::Approx(0.75));
  REQUIRE(cas[0].classes.size() == 3);
  CHECK(cas[0].classes[0].class_name == "happiness");
  CHECK(cas[0].classes[0].test_images == 6);
  CHECK(*cas[0].classes[0].real_trained_recall == doctest::Approx(5.0 / 6));
  CHECK(*cas[0].classes[0].synthetic_trained_recall == doctest::Approx(0.5));
  CHECK(*cas[0].classes[0].ratio == doctest::Approx(0.6));
  CHECK(*cas[0].classes[1].ratio == doctest::Approx(0.4 / 0.8));
  CHECK(*cas[0].classes[2].ratio == doctest::Approx(0.5 / 0.75));

  const auto cells = summarize_cas(r);
  REQUIRE(cells.size() == 2);
  CHECK(cells[0].trials == std::vector<std::int64_t>{1, 2});
  CHECK(cells[0].real_mean == doctest::Approx(0.985));
  CHECK(cells[0].synthetic_mean == doctest::Approx(0.542));
  CHECK(*cells[0].ratio_of_means == doctest::Approx(0.542 / 0.985));
  CHECK(*cells[1].ratio_of_means == doctest::Approx(0.27 / 0.43));
  CHECK(cells[0].leaking);
  CHECK(!cells[1].leaking);
  CHECK(cells[1].classes[2].test_images == 24);  // summed over the two trials
  CHECK(*cells[1].classes[2].ratio == doctest::Approx(12.0 / 24 / (18.0 / 24)));
  CHECK(*mean_cas_over_backbones(cells, "loso", "baseline") == doctest::Approx(0.27 / 0.43));
  CHECK(!mean_cas_over_backbones(cells, "loso", "augment"));

  // A class without test frames has no recall, and a class the real-trained classifier never gets right no ratio.
  const auto k = compare_per_class({{0, 0}, {1, 3}}, {{0, 0}, {2, 2}}, {"a", "b"});
  CHECK(!k[0].real_trained_recall);
  CHECK(!k[0].ratio);
  CHECK(*k[1].ratio == doctest::Approx(2.0 / 3));
  CHECK(*compare_per_class({{1, 0}, {0, 2}}, {{0, 1}, {0, 2}}, {"a", "b"})[0].ratio == 0.0);  // nothing learnt
  CHECK(!compare_per_class({{0, 1}, {0, 2}}, {{1, 0}, {0, 2}}, {"a", "b"})[0].ratio);  // real-trained recall 0
  CHECK(testing::contains(testing::error_of([] { compare_per_class({{1, 0}, {0, 2}}, {{1, 0}, {0, 3}}, {"a", "b"}); }),
                          "tested on different frames (class 'b': 2 and 3)"));
}

TEST_CASE("results.json: a file of the first schema (no CAS) is read with its CAS computed") {
  const auto dir = std::filesystem::temp_directory_path() / "fergen-test-study-report-v1";
  std::filesystem::create_directories(dir);
  const study_results r = sample_results();
  auto j = to_json(r);
  CHECK(j["schema"] == "fergen-study-results/2");
  REQUIRE(j["cas"].size() == 4);
  CHECK(j["cas"][1]["ratio"].get<double>() == doctest::Approx(0.6));
  CHECK(j["cas"][1]["classes"][0]["real_trained_recall"].get<double>() == doctest::Approx(5.0 / 6));
  j.erase("cas");
  j["schema"] = "fergen-study-results/1";
  std::ofstream(dir / "results.json") << j.dump();
  const study_results back = read_results_json(dir / "results.json");
  CHECK(to_json(back) == to_json(r));
  // A /2 file must have it.
  j["schema"] = "fergen-study-results/2";
  std::ofstream(dir / "missing.json") << j.dump();
  CHECK(testing::contains(testing::error_of([&] { read_results_json(dir / "missing.json"); }), "missing field 'cas'"));
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
  // synth-real tables: the CAS per trial and of the means, said what it is, and the summary line under them.
  CHECK(testing::contains(tables, "CAS ratio = synth-real / real-real accuracy, same backbone, configuration and protocol"));
  CHECK(testing::contains(tables, "| model | trial 1 | trial 2 | mean +- std | UF1 | UAR | CAS ratio per trial | CAS ratio of the means | protocol | leaks? |"));
  CHECK(testing::contains(tables, "| vgg16 | 49.00 | 59.40 | 54.20 +- 7.35 | 0.492 | 0.512 | 0.50, 0.60 | 0.55 | random | yes: "));
  CHECK(testing::contains(tables, "| vgg16 | 21.00 | 33.00 | 27.00 +- 8.49 | 0.220 | 0.240 | 0.50, 0.75 | 0.63 | loso | no |"));
  CHECK(testing::contains(tables, "CAS ratio (mean over backbones, baseline): 0.55 random, 0.63 loso"));
  CHECK(testing::contains(tables, "### Per-class CAS, baseline (protocol loso)"));
  CHECK(testing::contains(tables, "| vgg16 | happiness | 12 | 83.33 | 50.00 | 0.60 |"));
  CHECK(testing::contains(tables, "| vgg16 | others | 24 | 75.00 | 50.00 | 0.67 |"));
  // real-real tables have no CAS columns.
  CHECK(testing::contains(tables, "| model | trial 1 | trial 2 | mean +- std | UF1 | UAR | protocol | leaks? |"));
  const std::string comparison = slurp(files.comparison);
  CHECK(testing::contains(comparison, "| 3 | real-real | baseline | vgg16 | 99.33 | 98.50 | 43.00 |"));
  CHECK(testing::contains(comparison, "| 6 | synth-real | baseline | vgg16 | 96.78 |"));
  const std::string html = slurp(files.html);
  CHECK(testing::contains(html, "<!doctype html>"));
  CHECK(testing::contains(html, "data-images-loaded"));
  CHECK(testing::contains(html, "55.50 points"));  // the gap: 98.5 - 43.0 for real-real
  CHECK(testing::contains(html, "CAS ratio (mean over backbones, baseline): 0.55 random, 0.63 loso"));
  CHECK(testing::contains(html, "<td class=\"num\">happiness</td><td class=\"num\">12</td><td class=\"num\">83.33</td>"));
  std::size_t images = 0;
  for (std::size_t at = html.find("<img"); at != std::string::npos; at = html.find("<img", at + 1)) ++images;
  CHECK(images == 4);  // one confusion matrix per cell (the generator has no grid in this sample)
  CHECK(html.find("src=\"figures/") == std::string::npos);  // self-contained: images are embedded
  for (const auto& f : files.figures) CHECK(std::filesystem::file_size(f) > 100);
}

TEST_CASE("the report rebuilt from results.json alone (fergen report) is the report of the run, also from a /1 file") {
  const auto run = std::filesystem::temp_directory_path() / "fergen-test-study-report-run";
  const auto rebuilt = std::filesystem::temp_directory_path() / "fergen-test-study-report-rebuilt";
  const auto old = std::filesystem::temp_directory_path() / "fergen-test-study-report-old";
  for (const auto& d : {run, rebuilt, old}) {
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
  }
  const study_results r = sample_results();
  const auto original = write_report(run, r);
  write_results_json(rebuilt / "results.json", r);
  const study_results back = read_results_json(rebuilt / "results.json");
  const auto again = write_report(rebuilt, back);
  CHECK(slurp(again.tables) == slurp(original.tables));
  auto j = to_json(r);
  j.erase("cas");
  j["schema"] = "fergen-study-results/1";
  std::ofstream(old / "results.json") << j.dump(2);
  const auto from_old = write_report(old, read_results_json(old / "results.json"));
  CHECK(slurp(from_old.tables) == slurp(original.tables));
  write_results_per_class_csv(old / "results_per_class.csv", read_results_json(old / "results.json"));
  write_results_per_class_csv(run / "results_per_class.csv", r);
  CHECK(slurp(old / "results_per_class.csv") == slurp(run / "results_per_class.csv"));
  // The page differs only in its folder name (the rebuild command it quotes).
  const auto html_lines = lines_of(slurp(again.html)), original_lines = lines_of(slurp(original.html));
  REQUIRE(html_lines.size() == original_lines.size());
  std::size_t differing = 0;
  for (std::size_t i = 0; i < html_lines.size(); ++i) differing += html_lines[i] != original_lines[i];
  CHECK(differing == 1);
}
