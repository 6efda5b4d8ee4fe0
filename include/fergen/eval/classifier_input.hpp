// fergen/eval/classifier_input.hpp: a dataset as a backbone's input batches, the way the study feeds them.
#pragma once

#include <fergen/augment/compose.hpp>
#include <fergen/augment/policies.hpp>
#include <fergen/augment/study.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/core/error.hpp>
#include <fergen/data/batch_loader.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/dataset_view.hpp>
#include <fergen/models/imagenet.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace eval {

// The study's two input pipelines. Both rescale by 1/255 (Keras' rescale=1./255), so images reach the
// network on [0, 1]; `study` adds the ablation's augmentation (augment::study_policy(): rotation 15 degrees,
// shifts 0.1, horizontal flip, brightness 0.8-1.2, fill nearest).
enum class augmentation { none, study };

inline std::string_view to_string(augmentation a) { return a == augmentation::none ? "none" : "study"; }
inline augmentation parse_augmentation(std::string_view text) {
  if (text == "none") return augmentation::none;
  if (text == "study") return augmentation::study;
  fail("augmentation '", text, "' is not one of: none, study");
}

// One batch, whichever policy made it.
template <class B>
struct labelled_batch {
  tensor<B> images;                   // [n, channels, height, width] on [0, 1]
  std::vector<std::int64_t> labels;   // per image
  std::vector<std::int64_t> indices;  // per image: its index in the dataset
};

struct batch_options {
  std::int64_t batch_size = 32;
  std::int64_t image_size = 0;  // resize on load to image_size x image_size; 0 keeps the dataset's size
  std::int64_t channels = 1;    // 1: gray (RGB images become BT.601 gray), 3: RGB (gray replicated)
  bool shuffle = true;
  std::uint64_t seed = 0;
  std::int64_t workers = 2;
};

// A batch loader behind one type: the training loop and predict compile once, whatever the policy. It reads the
// view's samples in place (the view's dataset must outlive the stream; the view itself need not).
template <class B>
class batch_stream {
 public:
  batch_stream(const data::dataset_view& samples, augmentation policy, const batch_options& o) {
    if (policy == augmentation::study) {
      bind<augment::study_augmentation>(samples.source(), samples.indices(), augment::study_policy(), o);
    } else {
      using rescale_only = augment::compose<augment::rescale>;
      bind<rescale_only>(samples.source(), samples.indices(), rescale_only{augment::rescale{.factor = 1.0 / 255.0}},
                         o);
    }
  }

  void start_epoch(std::int64_t epoch) { start_(epoch); }
  std::optional<labelled_batch<B>> next() { return next_(); }
  std::int64_t batches_per_epoch() const { return batches_; }
  std::int64_t samples() const { return samples_; }

 private:
  template <class Policy>
  void bind(const data::dataset& ds, std::vector<std::int64_t> indices, Policy policy, const batch_options& o) {
    using loader_type = data::batch_loader<B, Policy>;
    typename loader_type::options lo;
    lo.batch_size = o.batch_size;
    lo.height = lo.width = o.image_size;
    lo.channels = o.channels;
    lo.shuffle = o.shuffle;
    lo.seed = o.seed;
    lo.workers = o.workers;
    lo.prefetch = std::max<std::int64_t>(2, o.workers);
    auto loader = std::make_shared<loader_type>(ds, std::move(indices), std::move(policy), lo);
    batches_ = loader->batches_per_epoch();
    samples_ = loader->samples();
    start_ = [loader](std::int64_t epoch) { loader->start_epoch(epoch); };
    next_ = [loader]() -> std::optional<labelled_batch<B>> {
      auto b = loader->next();
      if (!b) return std::nullopt;
      return labelled_batch<B>{std::move(b->images), std::move(b->labels), std::move(b->indices)};
    };
  }

  std::function<void(std::int64_t)> start_;
  std::function<std::optional<labelled_batch<B>>()> next_;
  std::int64_t batches_ = 0, samples_ = 0;
};

// The channels to load for a network with in_channels inputs: a 1-channel network takes gray; a 3-channel
// one takes gray too when every image is gray (the normalisation replicates it, for a third of the loader's
// work), else RGB.
inline std::int64_t loader_channels(const data::dataset_view& samples, std::int64_t in_channels) {
  require(in_channels == 1 || in_channels == 3, "classifier input: in_channels ", in_channels, " must be 1 or 3");
  if (in_channels == 1) return 1;
  for (const auto& s : samples)
    if (s.image.channels == 3) return 3;
  return 1;
}

// The network's input from a batch on [0, 1]: as it is for a 1-channel backbone (its first convolution
// holds the normalisation), ImageNet-normalised RGB for a 3-channel one.
template <class B>
tensor<B> network_input(context<B>& ctx, const tensor<B>& images, std::int64_t in_channels) {
  if (in_channels == 1) {
    require(images.shape().c == 1, "classifier input: a 1-channel network was given ", images.shape());
    return images;
  }
  return models::imagenet::normalize(ctx, images);
}

}  // namespace eval
FERGEN_END_NAMESPACE
