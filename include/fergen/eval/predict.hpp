// fergen/eval/predict.hpp: a backbone's predictions, logits and (on request) features over a dataset.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/core/error.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/dataset_view.hpp>
#include <fergen/eval/classification_metrics.hpp>
#include <fergen/eval/classifier_input.hpp>
#include <fergen/nn/losses.hpp>

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace eval {

struct predict_options {
  std::int64_t batch_size = 64;
  std::int64_t image_size = 0;  // resize on load (the size the network was trained at); 0: the dataset's
  std::int64_t workers = 2;
  bool features = false;        // also keep the penultimate features (the head's input)
};

// Samples in the order of the set predicted on.
struct prediction {
  std::int64_t classes = 0;
  std::vector<std::int64_t> truth;      // the dataset's labels
  std::vector<std::int64_t> labels;     // argmax of the logits (the first of equal maxima)
  std::vector<float> logits;            // samples x classes, row-major
  std::int64_t feature_count = 0;       // when asked for
  std::vector<float> features;          // samples x feature_count, row-major
  double loss = 0;                      // mean cross-entropy of the logits against the truth

  std::int64_t size() const { return static_cast<std::int64_t>(labels.size()); }
  classification_metrics metrics() const { return classification_metrics::compute(truth, labels, classes); }
};

// Runs the network in evaluation mode (BatchNorm's running statistics, no dropout, nothing recorded) over
// the samples, prepared as in training without augmentation (resize, rescale 1/255, normalisation for a
// 3-channel network). The dataset's labels must index the network's classes.
template <class Net>
prediction predict(Net& net, const data::dataset_view& samples, const predict_options& o = {}) {
  using B = typename Net::backend;
  require(samples.class_count() <= net.num_classes(), "predict: the dataset has ", samples.class_count(),
          " classes, the network ", net.name(), " only ", net.num_classes());
  batch_stream<B> stream(samples, augmentation::none,
                         {.batch_size = o.batch_size, .image_size = o.image_size,
                          .channels = loader_channels(samples, net.in_channels()), .shuffle = false,
                          .workers = o.workers});
  prediction out;
  out.classes = net.num_classes();
  const auto n = static_cast<std::size_t>(samples.size());
  out.truth.reserve(n);
  out.labels.reserve(n);
  out.logits.reserve(n * static_cast<std::size_t>(out.classes));
  if (o.features) {
    out.feature_count = net.feature_count();
    out.features.reserve(n * static_cast<std::size_t>(out.feature_count));
  }
  double loss_sum = 0;
  auto ctx = context<B>::eval();
  stream.start_epoch(0);
  while (auto batch = stream.next()) {
    const tensor<B> x = network_input(ctx, batch->images, net.in_channels());
    const tensor<B> features = net.forward_features(ctx, x);
    const tensor<B> logits = net.head().forward(ctx, features);
    loss_sum += nn::cross_entropy(ctx, logits, batch->labels).value * static_cast<double>(batch->labels.size());
    std::vector<typename B::value_type> host(static_cast<std::size_t>(logits.size()));
    logits.copy_to(host);
    const auto k = static_cast<std::size_t>(out.classes);
    for (std::size_t i = 0; i < batch->labels.size(); ++i) {
      const auto row = host.begin() + static_cast<std::ptrdiff_t>(i * k);
      out.labels.push_back(std::max_element(row, row + static_cast<std::ptrdiff_t>(k)) - row);
      out.truth.push_back(batch->labels[i]);
    }
    out.logits.insert(out.logits.end(), host.begin(), host.end());
    if (o.features) {
      std::vector<typename B::value_type> f(static_cast<std::size_t>(features.size()));
      features.copy_to(f);
      out.features.insert(out.features.end(), f.begin(), f.end());
    }
  }
  out.loss = loss_sum / static_cast<double>(n);
  return out;
}

}  // namespace eval
FERGEN_END_NAMESPACE
