// fergen/experiment/judge_services.hpp: the judge's classifier made of fergen's backbones, by name, on any backend:
// the study's recipe (study_services.hpp builds, initialises and trains it), and on request the penultimate
// features of two sets in the trained network, the space of the quality metrics.
#pragma once

#include <fergen/eval/feature_matrix.hpp>
#include <fergen/eval/predict.hpp>
#include <fergen/eval/train_classifier.hpp>
#include <fergen/experiment/judge.hpp>
#include <fergen/experiment/study_presets.hpp>
#include <fergen/experiment/study_services.hpp>
#include <fergen/models/backbones.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

struct judge_classifier_options {
  std::string backbone = "resnet50";
  classifier_settings classifier;  // size, input size, epochs, batch, optimiser, lr, schedule (for_backbone applied)
  bool verbose = false;            // a line per epoch
};

// Checks the names and sizes before any data is read.
inline void check_judge_classifier(const judge_classifier_options& o) {
  parse_backbone(o.backbone);
  models::parse_backbone_size(o.classifier.size);
  eval::parse_optimizer(o.classifier.optimizer);
  eval::parse_lr_decay(o.classifier.schedule);
  require(o.classifier.input_size >= 16, "judge: --input-size ", o.classifier.input_size, " is below 16");
  require(o.classifier.epochs >= 1, "judge: --epochs must be at least 1, got ", o.classifier.epochs);
  require(o.classifier.batch >= 1, "judge: --batch must be at least 1, got ", o.classifier.batch);
  require(std::isfinite(o.classifier.lr) && o.classifier.lr > 0, "judge: --lr must be positive, got ", o.classifier.lr);
}

// The input size the classifier trains at: the option's, raised to the smallest the backbone accepts.
inline std::int64_t judge_input_size(const judge_classifier_options& o) {
  return o.classifier.input_for(models::parse_backbone(o.backbone));
}

template <class B>
judge_services make_judge_services(const judge_classifier_options& o, std::function<void(const std::string&)> log) {
  judge_services s;
  s.log = log;
  s.train_and_test = [o, log](const judge_request& r) {
    const auto input = judge_input_size(o);
    const auto start = std::chrono::steady_clock::now();
    judge_response out = detail::with_study_backbone<B>(o.backbone, o.classifier, {}, r.train.class_count(), r.seed,
                                                        [&](auto& net) {
      eval::train_options t = detail::classifier_options(o.classifier, configuration::baseline, input, r.seed);
      if (o.verbose && log)
        t.on_epoch = [&](const eval::epoch_record& e) {
          log(str("    ", r.label, ": epoch ", e.epoch, "/", t.epochs, " loss ", e.train_loss, ", accuracy ",
                  e.train_accuracy, ", ", static_cast<std::int64_t>(e.images_per_second), " img/s"));
        };
      eval::train_classifier(net, r.train, nullptr, t);
      judge_response response;
      for (const data::dataset_view& test : r.tests)
        response.predictions.push_back(eval::predict(net, test, eval::predict_options{.image_size = input}).labels);
      if (r.features_real && r.features_synthetic) {
        const eval::predict_options po{.image_size = input, .features = true};
        auto matrix = [](const eval::prediction& p) {
          return eval::feature_matrix(p.size(), p.feature_count,
                                      std::vector<double>(p.features.begin(), p.features.end()));
        };
        response.features = quality_features{
            matrix(eval::predict(net, *r.features_real, po)), matrix(eval::predict(net, *r.features_synthetic, po)),
            str("penultimate features (", net.feature_count(), ") of ", net.name(), " (", input, "x", input, ")")};
      }
      return response;
    });
    if (log)
      log(str("    ", r.label, ": trained and tested in ",
              std::round(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() * 10) / 10,
              " s"));
    return out;
  };
  return s;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
