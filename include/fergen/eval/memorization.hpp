// fergen/eval/memorization.hpp: which generated images copy a training image (the nearest-neighbour ratio
// test of Carlini et al. 2023, "Extracting training data from diffusion models").
#pragma once

#include <fergen/core/parallel.hpp>
#include <fergen/eval/feature_matrix.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace eval {

struct memorization_report {
  double rate = 0;                       // memorised / generated
  std::int64_t memorized = 0;
  std::vector<std::int64_t> nearest;     // per generated image: index of its nearest training image
  std::vector<double> nearest_distance;  // Euclidean
  std::vector<double> second_distance;   // to the nearest training image of ANOTHER clip
  std::vector<char> is_memorized;
};

// A generated image is memorised when its nearest training image is closer than 1/3 of the distance to the
// second nearest. In micro-expression data a clip's frames are 5 ms apart and nearly identical, so the
// plain second neighbour is usually another frame of the same clip and the test would never fire: the
// "second nearest" here is the nearest training image from a different clip than the first (every image is
// its own clip when clip ids are not given). Distances are Euclidean in the given feature space; pixels
// are the natural choice, since copying is a pixel-level event.
inline memorization_report memorization(const feature_matrix& generated, const feature_matrix& training,
                                        const std::vector<std::string>& training_clips = {}, double ratio = 1.0 / 3.0) {
  require(generated.cols == training.cols, "memorization: feature sizes ", generated.cols, " and ", training.cols,
          " differ");
  require(training.rows >= 2, "memorization: needs at least 2 training images, got ", training.rows);
  require(training_clips.empty() || training_clips.size() == static_cast<std::size_t>(training.rows),
          "memorization: ", training_clips.size(), " clip ids for ", training.rows, " training images");
  require(ratio > 0 && ratio < 1, "memorization: ratio ", ratio, " is outside (0, 1)");
  const auto n = static_cast<std::size_t>(generated.rows);
  memorization_report r;
  r.nearest.assign(n, -1);
  r.nearest_distance.assign(n, 0);
  r.second_distance.assign(n, 0);
  r.is_memorized.assign(n, 0);
  auto same_clip = [&](std::int64_t a, std::int64_t b) {
    if (training_clips.empty()) return a == b;
    return training_clips[static_cast<std::size_t>(a)] == training_clips[static_cast<std::size_t>(b)];
  };
  constexpr std::int64_t block = 512;
  for (std::int64_t start = 0; start < generated.rows; start += block) {
    const std::int64_t count = std::min(block, generated.rows - start);
    std::vector<std::int64_t> rows(static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) rows[static_cast<std::size_t>(i)] = start + i;
    const std::vector<double> d = squared_distances(generated.select(rows), training);
    parallel_for(count, [&](std::int64_t i) {
      const double* row = d.data() + i * training.rows;
      const std::int64_t first = std::min_element(row, row + training.rows) - row;
      double second = std::numeric_limits<double>::infinity();
      for (std::int64_t j = 0; j < training.rows; ++j)
        if (!same_clip(j, first)) second = std::min(second, row[j]);
      const auto g = static_cast<std::size_t>(start + i);
      r.nearest[g] = first;
      r.nearest_distance[g] = std::sqrt(row[first]);
      r.second_distance[g] = std::sqrt(second);  // infinite when every training image is of one clip
      r.is_memorized[g] = r.nearest_distance[g] < ratio * r.second_distance[g] ? 1 : 0;
    });
  }
  for (char m : r.is_memorized) r.memorized += m;
  r.rate = generated.rows > 0 ? static_cast<double>(r.memorized) / static_cast<double>(generated.rows) : 0.0;
  return r;
}

}  // namespace eval
FERGEN_END_NAMESPACE
