// fergen/experiment/synthetic_quality.hpp: the quality of a synthetic set against the real frames it was made
// from, per class and overall: memorisation in pixel space, and FID, KID and precision/recall on k-NN manifolds in
// a feature space learnt from the real frames. The study measures each generator with it, `fergen judge` the set
// it is given.
#pragma once

#include <fergen/data/dataset.hpp>
#include <fergen/data/dataset_view.hpp>
#include <fergen/eval/feature_matrix.hpp>
#include <fergen/eval/frechet_distance.hpp>
#include <fergen/eval/kernel_distance.hpp>
#include <fergen/eval/manifold_precision_recall.hpp>
#include <fergen/eval/memorization.hpp>
#include <fergen/eval/pixel_features.hpp>
#include <fergen/experiment/study_results.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

// Features for the quality metrics, in a space learnt from the real training frames (e.g. the penultimate
// layer of a classifier trained on them), for both sets; feature_space says which space that is.
struct quality_features {
  eval::feature_matrix real;
  eval::feature_matrix synthetic;
  std::string feature_space;
};

namespace detail {

inline std::vector<std::int64_t> indices_of_label(const data::dataset_view& ds, std::int64_t label) {
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < ds.size(); ++i)
    if (ds[i].label == label) out.push_back(i);
  return out;
}

}  // namespace detail

// One record overall ("all") and one per class of `real`, in class order. Memorisation compares the synthetic
// images with `real` in pixels at the synthetic images' size, a frame's clip (or its file, without clip ids)
// telling near copies of one clip apart; FID and KID need 2 images on each side, precision and recall 4 (k = 3),
// and are absent otherwise or without features. KID's subsets are drawn from `seed`.
inline std::vector<quality_record> measure_quality(const data::dataset_view& real, const data::dataset_view& synthetic,
                                                   const std::optional<quality_features>& features,
                                                   const std::string& protocol, const std::string& fold,
                                                   std::uint64_t seed) {
  require(!synthetic.empty(), "quality: the synthetic set is empty");
  const std::int64_t size = synthetic[0].image.height;
  const eval::memorization_report mem = [&] {
    std::vector<std::string> clips;
    for (const auto& s : real) clips.push_back(s.clip.empty() ? s.source : s.clip);
    return eval::memorization(eval::pixel_features(synthetic, size), eval::pixel_features(real, size), clips);
  }();
  std::vector<quality_record> out;
  for (std::int64_t c = -1; c < real.class_count(); ++c) {
    quality_record q;
    q.protocol = protocol;
    q.fold = fold;
    q.class_name = c < 0 ? "all" : real.class_names()[static_cast<std::size_t>(c)];
    q.feature_space = features ? features->feature_space : "none (no feature extractor)";
    const std::vector<std::int64_t> ri = c < 0 ? std::vector<std::int64_t>{} : detail::indices_of_label(real, c);
    const std::vector<std::int64_t> si = c < 0 ? std::vector<std::int64_t>{} : detail::indices_of_label(synthetic, c);
    q.real_images = c < 0 ? real.size() : static_cast<std::int64_t>(ri.size());
    q.synthetic_images = c < 0 ? synthetic.size() : static_cast<std::int64_t>(si.size());
    std::int64_t memorized = 0;
    for (std::int64_t i = 0; i < synthetic.size(); ++i)
      if (c < 0 || synthetic[i].label == c) memorized += mem.is_memorized[static_cast<std::size_t>(i)];
    if (q.synthetic_images > 0)
      q.memorization_rate = static_cast<double>(memorized) / static_cast<double>(q.synthetic_images);
    if (features) {
      const eval::feature_matrix a = c < 0 ? features->real : features->real.select(ri);
      const eval::feature_matrix b = c < 0 ? features->synthetic : features->synthetic.select(si);
      if (a.rows >= 2 && b.rows >= 2) {
        q.fid = eval::frechet_distance(a, b);
        const auto kid = eval::kernel_distance(a, b, {.subsets = 10, .subset_size = 200, .seed = seed});
        q.kid_mean = kid.mean;
        q.kid_std = kid.stddev;
      }
      if (a.rows > 3 && b.rows > 3) {
        const auto pr = eval::manifold_precision_recall(a, b, 3);
        q.precision = pr.precision;
        q.recall = pr.recall;
      }
    }
    out.push_back(q);
  }
  return out;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
