// Tests of experiment/study_axes.hpp and experiment/published_results.hpp.
#include <fergen/data/csv.hpp>
#include <fergen/experiment/published_results.hpp>
#include <fergen/experiment/study_axes.hpp>
#include <fergen/experiment/study_counts.hpp>
#include <fergen/experiment/study_presets.hpp>

#include "support/errors.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

using namespace fergen;
using namespace fergen::experiment;

TEST_CASE("axes: names round-trip and unknown names list the known ones") {
  for (const setting s : all_settings) CHECK(parse_setting(name(s)) == s);
  for (const configuration c : all_configurations) CHECK(parse_configuration(name(c)) == c);
  CHECK(parse_protocol("subject-kfold") == protocol::subject_kfold);
  CHECK(testing::contains(testing::error_of([] { parse_setting("real-fake"); }),
                          "unknown setting 'real-fake' (known: real-real, synth-synth, real-synth, synth-real)"));
  CHECK(testing::contains(testing::error_of([] { parse_backbone("alexnet"); }),
                          "unknown backbone 'alexnet' (known: vgg16, resnet50, inception_v3)"));
  CHECK(testing::contains(testing::error_of([] { parse_protocol("kfold"); }), "unknown protocol 'kfold'"));
  const auto list = parse_list("vgg16,inception_v3", parse_backbone);
  CHECK(list == std::vector<std::string>{"vgg16", "inception_v3"});
  CHECK(testing::contains(testing::error_of([] { parse_list("vgg16,,resnet50", parse_backbone); }), "empty item"));
  CHECK(tests_on_real(setting::synth_real));
  CHECK(!tests_on_real(setting::real_synth));
}

TEST_CASE("the embedded published figures equal docs/study/published_results.csv, and every average its mean") {
  const auto path = std::filesystem::path(FERGEN_TESTS_SOURCE_DIR) / ".." / "docs" / "study" / "published_results.csv";
  const data::csv_table table = data::csv_table::read(path);
  REQUIRE(table.size() == published_results.size());
  auto get = [&](std::size_t i, std::string_view column) { return std::string(table.cell(i, table.column(column))); };
  for (std::size_t i = 0; i < published_results.size(); ++i) {
    const auto& row = published_results[i];
    CAPTURE(i);
    CHECK(std::stoi(get(i, "table")) == row.table);
    CHECK(get(i, "setting") == name(row.data_setting));
    CHECK(get(i, "config") == name(row.config));
    CHECK(get(i, "model") == row.backbone);
    double sum = 0;
    for (int t = 0; t < 5; ++t) {
      CHECK(std::stod(get(i, "trial" + std::to_string(t + 1))) == row.trials[static_cast<std::size_t>(t)]);
      sum += row.trials[static_cast<std::size_t>(t)];
    }
    CHECK(std::stod(get(i, "average_reported")) == row.average);
    CHECK(std::abs(sum / 5 - row.average) <= 0.005 + 1e-9);  // printed to two decimals
  }
  // Every cell of the grid has its table: 3 backbones x 4 settings x 3 configurations.
  for (const auto s : all_settings)
    for (const auto c : all_configurations)
      for (const auto b : backbone_names) CHECK(published(s, c, b).has_value());
  CHECK(published_table(setting::real_real, configuration::baseline) == 3);
  CHECK(published_table(setting::synth_real, configuration::freeze30) == 14);
  CHECK(published(setting::synth_real, configuration::baseline, "inception_v3")->average == 99.48);
}

TEST_CASE("generator length: steps, the preset's, or epochs over the frames each generator learns") {
  experiment::generator_settings g;
  CHECK(g.training_steps(198, 32, 700) == 700);  // nothing set: the preset's
  g.steps = 500;
  CHECK(g.training_steps(198, 32, 700) == 500);
  g.epochs = 110;  // 110 passes over 198 frames in batches of 32, rounded up; steps the least
  CHECK(g.training_steps(198, 32, 700) == 681);
  CHECK(g.training_steps(88, 32, 700) == 500);
  g.steps = 0;
  CHECK(g.training_steps(88, 32, 700) == 303);  // a generator of fewer frames trains shorter
  g.epochs = 0.001;
  CHECK(g.training_steps(5, 32, 700) == 1);  // never zero
  // The demo's generators are sized by epochs; the smoke run's by steps.
  CHECK(experiment::study_presets::demo().generator.epochs > 0);
  CHECK(experiment::study_presets::smoke().generator.training_steps(100, 32, 700) == 20);
}

TEST_CASE("the study's Table 2 counts by class name, in any class order") {
  std::vector<std::string> folder_order{"disgust", "fear", "happiness", "others", "repression", "sadness", "surprise"};
  CHECK(study_counts_for(folder_order) == std::vector<std::int64_t>{3120, 1760, 2780, 2140, 2187, 1632, 1845});
  std::int64_t total = 0;
  for (const auto& [name, count] : study_generated_counts()) total += count;
  CHECK(total == 15464);
  CHECK(testing::contains(testing::error_of([] { study_counts_for({"left", "middle", "right"}); }),
                          "the model has 3 classes"));
  CHECK(testing::contains(testing::error_of([] {
                            study_counts_for({"disgust", "fear", "joy", "others", "repression", "sadness", "surprise"});
                          }),
                          "the model's class 'joy' is not one of the study's"));
}
