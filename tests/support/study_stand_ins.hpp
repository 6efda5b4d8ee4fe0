// Stand-in services for the study runner's tests (test_study_runner, test_study_shards): a nearest-class-mean
// classifier and a generator that perturbs the frames it learned, so that a test checks which data goes where, not
// how good a network is; and the small procedural dataset they run on.
#pragma once

#include <fergen/core/rng.hpp>
#include <fergen/data/procedural_faces.hpp>
#include <fergen/experiment/study_contract.hpp>
#include <fergen/experiment/synthetic_quality.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fergen::testing {

using namespace fergen::experiment;


inline const data::dataset& faces() {
  static const data::dataset ds = [] {
    data::procedural_options o;
    o.subjects = 4;
    o.size = 16;
    o.min_frames = 4;
    o.max_frames = 6;
    return data::procedural_faces(o);
  }();
  return ds;
}

// Predicts the class whose mean training image is nearest.
inline classifier_result nearest_mean(const classifier_request& r) {
  const auto k = static_cast<std::size_t>(r.train.class_count());
  const std::size_t pixels = r.train[0].image.pixels.size();
  std::vector<std::vector<double>> mean(k, std::vector<double>(pixels, 0.0));
  std::vector<double> count(k, 0.0);
  for (const auto& s : r.train) {
    for (std::size_t p = 0; p < pixels; ++p) mean[static_cast<std::size_t>(s.label)][p] += s.image.pixels[p];
    ++count[static_cast<std::size_t>(s.label)];
  }
  auto nearest = [&](const data::sample& s) {
    double best = 1e300;
    std::int64_t label = 0;
    for (std::size_t c = 0; c < k; ++c) {
      if (count[c] == 0) continue;
      double d = 0;
      for (std::size_t p = 0; p < pixels; ++p) d += std::pow(s.image.pixels[p] - mean[c][p] / count[c], 2);
      if (d < best) best = d, label = static_cast<std::int64_t>(c);
    }
    return label;
  };
  classifier_result out;
  for (const data::dataset_view& test : r.tests) {
    out.predictions.emplace_back();
    for (const auto& s : test) out.predictions.back().push_back(nearest(s));
  }
  out.history = {{1, 1.0, 0.5}, {2, 0.5, 0.9}};
  return out;
}

struct recording_services {
  std::vector<std::set<std::string>> generator_subjects;  // the subjects each generator learned
  std::vector<std::size_t> classifier_tests;                // per classifier trained: how many sets it was tested on
  study_services services() {
    study_services s;
    s.train_generator = [this](const data::dataset_view& train, const std::string&, std::uint64_t seed) {
      std::set<std::string> subjects;
      for (const auto& x : train) subjects.insert(x.subject);
      generator_subjects.push_back(subjects);
      data::dataset images(train.class_names());
      generator gen(seed);
      const random_stream noise = gen.take();
      for (std::int64_t i = 0; i < train.size(); i += 2) {  // every other frame, lightly perturbed, no identity
        data::sample copy{train[i].image, train[i].label, "", "", -1, ""};
        for (std::size_t p = 0; p < copy.image.pixels.size(); ++p)
          copy.image.pixels[p] += static_cast<float>(3.0 * noise.normal(static_cast<std::uint64_t>(i) * 1000 + p));
        images.add(std::move(copy));
      }
      generated_set g{std::make_shared<const data::dataset>(std::move(images)), {}, std::nullopt};
      g.record.steps = 10;
      g.record.loss_curve = {{1, 1.0}, {10, 0.1}};
      g.sample_grid = train[0].image;
      return g;
    };
    s.train_and_test = [this](const classifier_request& r) {
      classifier_tests.push_back(r.tests.size());
      return nearest_mean(r);
    };
    s.features = [](const data::dataset_view& real, const data::dataset_view& synthetic, std::uint64_t) {
      return quality_features{eval::pixel_features(real, 8), eval::pixel_features(synthetic, 8), "pixels at 8x8"};
    };
    s.log = [](const std::string&) {};
    return s;
  }
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}


}  // namespace fergen::testing
