// fergen/data/clip_motion.hpp: how far each frame of a clip has moved away from the clip's first frame, and the
// frames that moved at least a given part of the way.
//
// Why: a micro-expression clip runs from onset to offset through the apex, and most of its frames are close to the
// neutral onset face: a generator that learns every frame spends most of its steps on faces that carry no class.
// Learning the frames that moved gives it the expressions (measured: docs/generator_recipes.md). The measure needs
// no coding sheet and no face model, only that a clip starts where it starts: frames are compared, at a small common
// size, with the clip's first frame (the smallest frame number; the dataset's order when frames are unnumbered).
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/resize.hpp>

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace data {

// The side of the common size frames are compared at: small enough to average sensor noise away, large enough to
// see a brow or a lip corner move (a 48x48 face: features of 2-4 pixels).
inline constexpr std::int64_t clip_motion_size = 24;

// Per sample, in [0, 1]: |frame - first frame of its clip| over the largest such distance in the clip (Euclidean,
// gray, at clip_motion_size). A sample without a clip, the only frame of its clip, or a frame of a clip whose frames
// are all alike (largest distance 0) gets 1: nothing says it is not the expression.
inline std::vector<double> clip_motion(const dataset& ds) {
  auto small_gray = [](const image& img) {
    const image s = resize_bilinear(img, clip_motion_size, clip_motion_size);
    std::vector<double> g(static_cast<std::size_t>(s.plane()), 0.0);
    for (std::int64_t c = 0; c < s.channels; ++c)
      for (std::int64_t i = 0; i < s.plane(); ++i) g[static_cast<std::size_t>(i)] += s.channel(c)[i] / static_cast<double>(s.channels);
    return g;
  };
  // The first frame of each clip.
  std::map<std::string, std::int64_t> first;
  for (std::int64_t i = 0; i < ds.size(); ++i) {
    const sample& s = ds[i];
    if (s.clip.empty()) continue;
    const auto [it, added] = first.emplace(s.clip, i);
    if (!added && s.frame >= 0 && ds[it->second].frame >= 0 && s.frame < ds[it->second].frame) it->second = i;
  }
  std::map<std::string, std::vector<double>> reference;
  for (const auto& [clip, i] : first) reference.emplace(clip, small_gray(ds[i].image));

  std::vector<double> distance(static_cast<std::size_t>(ds.size()), 0.0);
  std::map<std::string, double> largest;
  for (std::int64_t i = 0; i < ds.size(); ++i) {
    const sample& s = ds[i];
    if (s.clip.empty()) continue;
    const std::vector<double> g = small_gray(s.image);
    const std::vector<double>& r = reference.at(s.clip);
    double sum = 0;
    for (std::size_t p = 0; p < g.size(); ++p) sum += (g[p] - r[p]) * (g[p] - r[p]);
    distance[static_cast<std::size_t>(i)] = std::sqrt(sum);
    double& top = largest[s.clip];
    top = std::max(top, distance[static_cast<std::size_t>(i)]);
  }
  std::vector<double> motion(static_cast<std::size_t>(ds.size()), 1.0);
  for (std::int64_t i = 0; i < ds.size(); ++i) {
    const sample& s = ds[i];
    if (s.clip.empty()) continue;
    const double top = largest.at(s.clip);
    if (top > 0) motion[static_cast<std::size_t>(i)] = distance[static_cast<std::size_t>(i)] / top;
  }
  return motion;
}

// The indices of the samples whose clip_motion is at least min_motion (0: every sample), in the dataset's order.
inline std::vector<std::int64_t> moving_frames(const dataset& ds, double min_motion) {
  require(std::isfinite(min_motion) && min_motion >= 0 && min_motion <= 1, "min_motion = ", min_motion,
          " is outside [0, 1] (the part of the way from a clip's first frame to its farthest)");
  std::vector<std::int64_t> out;
  if (min_motion == 0) {
    for (std::int64_t i = 0; i < ds.size(); ++i) out.push_back(i);
    return out;
  }
  const std::vector<double> motion = clip_motion(ds);
  for (std::int64_t i = 0; i < ds.size(); ++i)
    if (motion[static_cast<std::size_t>(i)] >= min_motion) out.push_back(i);
  return out;
}

}  // namespace data
FERGEN_END_NAMESPACE
