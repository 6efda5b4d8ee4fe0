// fergen/eval/classification_metrics.hpp: accuracy, confusion matrix, per-class precision, recall and F1,
// and the micro-expression field's UF1 and UAR.
#pragma once

#include <fergen/core/error.hpp>

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace eval {

// Metrics of a K-class classifier on N samples. Conventions:
//   * confusion[t * K + p] counts samples of true class t predicted as p (rows are the truth, as sklearn's).
//   * precision_c = TP / (TP + FP), recall_c = TP / (TP + FN), F1_c = 2 TP / (2 TP + FP + FN); a ratio whose
//     denominator is 0 is 0 (sklearn's zero_division=0): a class never predicted has precision 0, a class
//     with no sample recall 0 and, unless predicted, F1 0.
//   * UF1 (unweighted F1, MEGC 2019) is the mean F1 and UAR (unweighted average recall) the mean recall
//     over the classes present in the truth (support > 0). A class no sample has gives no recall to
//     average, and counting its F1 of 0 would punish the same errors twice (its false positives are
//     already misses of the true classes). With every class present these are MEGC's (1/K) sums.
//   * accuracy = sum of TP / N.
struct classification_metrics {
  std::int64_t classes = 0;
  std::int64_t samples = 0;
  std::vector<std::int64_t> confusion;  // classes x classes, row-major
  std::vector<std::int64_t> support;    // per true class
  std::vector<std::int64_t> predicted;  // per predicted class
  std::vector<double> precision, recall, f1;
  double accuracy = 0;
  double uf1 = 0;
  double uar = 0;
  std::int64_t present_classes = 0;  // classes with support > 0: what UF1 and UAR average over

  std::int64_t count(std::int64_t truth, std::int64_t prediction) const {
    return confusion[static_cast<std::size_t>(truth * classes + prediction)];
  }

  // truth and prediction: labels in [0, classes); N >= 1.
  static classification_metrics compute(std::span<const std::int64_t> truth, std::span<const std::int64_t> prediction,
                                        std::int64_t classes) {
    require(classes >= 1, "classification_metrics: classes ", classes, " must be >= 1");
    require(truth.size() == prediction.size(), "classification_metrics: ", truth.size(), " true labels and ",
            prediction.size(), " predictions");
    require(!truth.empty(), "classification_metrics: no samples");
    classification_metrics m;
    m.classes = classes;
    m.samples = static_cast<std::int64_t>(truth.size());
    const auto k = static_cast<std::size_t>(classes);
    m.confusion.assign(k * k, 0);
    for (std::size_t i = 0; i < truth.size(); ++i) {
      require(truth[i] >= 0 && truth[i] < classes, "classification_metrics: true label ", truth[i], " of sample ", i,
              " is outside [0, ", classes, ")");
      require(prediction[i] >= 0 && prediction[i] < classes, "classification_metrics: predicted label ",
              prediction[i], " of sample ", i, " is outside [0, ", classes, ")");
      ++m.confusion[static_cast<std::size_t>(truth[i]) * k + static_cast<std::size_t>(prediction[i])];
    }
    m.support.assign(k, 0);
    m.predicted.assign(k, 0);
    for (std::size_t t = 0; t < k; ++t)
      for (std::size_t p = 0; p < k; ++p) {
        m.support[t] += m.confusion[t * k + p];
        m.predicted[p] += m.confusion[t * k + p];
      }
    const auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
    m.precision.resize(k);
    m.recall.resize(k);
    m.f1.resize(k);
    std::int64_t correct = 0;
    double f1_sum = 0, recall_sum = 0;
    for (std::size_t c = 0; c < k; ++c) {
      const auto tp = static_cast<double>(m.confusion[c * k + c]);
      const auto fp = static_cast<double>(m.predicted[c]) - tp, fn = static_cast<double>(m.support[c]) - tp;
      correct += m.confusion[c * k + c];
      m.precision[c] = ratio(tp, tp + fp);
      m.recall[c] = ratio(tp, tp + fn);
      m.f1[c] = ratio(2 * tp, 2 * tp + fp + fn);
      if (m.support[c] > 0) {
        ++m.present_classes;
        f1_sum += m.f1[c];
        recall_sum += m.recall[c];
      }
    }
    m.accuracy = static_cast<double>(correct) / static_cast<double>(m.samples);
    m.uf1 = f1_sum / static_cast<double>(m.present_classes);
    m.uar = recall_sum / static_cast<double>(m.present_classes);
    return m;
  }

  // A table of the per-class figures and the confusion matrix, with class names (or indices).
  std::string report(const std::vector<std::string>& names = {}) const {
    const auto name = [&](std::int64_t c) {
      return c < static_cast<std::int64_t>(names.size()) ? names[static_cast<std::size_t>(c)] : std::to_string(c);
    };
    std::string out;
    char line[256];
    std::snprintf(line, sizeof line, "accuracy %.4f  UF1 %.4f  UAR %.4f  (%lld samples, %lld of %lld classes present)\n",
                  accuracy, uf1, uar, static_cast<long long>(samples), static_cast<long long>(present_classes),
                  static_cast<long long>(classes));
    out += line;
    std::snprintf(line, sizeof line, "%-12s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support");
    out += line;
    for (std::int64_t c = 0; c < classes; ++c) {
      const auto i = static_cast<std::size_t>(c);
      std::snprintf(line, sizeof line, "%-12s %9.4f %9.4f %9.4f %8lld\n", name(c).c_str(), precision[i], recall[i],
                    f1[i], static_cast<long long>(support[i]));
      out += line;
    }
    out += "confusion (rows: truth, columns: prediction)\n";
    for (std::int64_t t = 0; t < classes; ++t) {
      std::snprintf(line, sizeof line, "%-12s", name(t).c_str());
      out += line;
      for (std::int64_t p = 0; p < classes; ++p) {
        std::snprintf(line, sizeof line, " %6lld", static_cast<long long>(count(t, p)));
        out += line;
      }
      out += "\n";
    }
    return out;
  }
};

}  // namespace eval
FERGEN_END_NAMESPACE
