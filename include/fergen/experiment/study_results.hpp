// fergen/experiment/study_results.hpp: what a study run found, as plain records: the content of
// results.json, from which every table, figure and page of the report is rebuilt (`fergen report`).
#pragma once

#include <fergen/config.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

// One epoch of a classifier's training.
struct epoch_record {
  std::int64_t epoch = 0;  // 1-based
  double train_loss = 0;
  double train_accuracy = 0;  // fraction
};

// One fold of a subject-independent protocol (the random protocol has one fold, "all").
struct fold_record {
  std::string name;                        // "sub03", "fold 2 of 5", "all"
  std::vector<std::string> test_subjects;  // empty for the random protocol
  std::int64_t test_images = 0;
  double accuracy = 0;
};

// One trial of one cell of the grid: a backbone in a setting and configuration, under a protocol. Under a
// subject-independent protocol the trial runs every fold and pools the predictions, as MEGC 2019 does, so
// accuracy, UF1, UAR and the confusion matrix cover every real frame once.
struct trial_record {
  std::string protocol;  // random, loso, subject-kfold
  std::string setting;   // real-real, synth-synth, real-synth, synth-real
  std::string backbone;  // vgg16, resnet50, inception_v3
  std::string config;    // baseline, augment, freeze30
  std::int64_t trial = 1;
  double accuracy = 0;  // fractions in [0, 1]
  double uf1 = 0;       // unweighted (macro) F1
  double uar = 0;       // unweighted average recall
  std::vector<std::vector<std::int64_t>> confusion;  // [true][predicted]
  std::int64_t train_images = 0;                     // summed over the row's classifiers (one shared by folds: once)
  std::int64_t test_images = 0;
  std::vector<fold_record> folds;
  // Measured on the classifier's split when both sides are real frames (real-real): the fraction of test
  // frames whose clip, and whose subject, also appear in training. Absent when a side is synthetic.
  std::optional<double> clip_overlap;
  std::optional<double> subject_overlap;
  bool generator_saw_test_subjects = false;  // the synthetic training images come from a generator that saw them
  bool leaking = false;                      // the row is not a subject-independent result, for leak_reason
  std::string leak_reason;
  std::vector<epoch_record> history;  // of the trial's first fold
};

// The quality of a synthetic set against the generator's training images, per class and overall ("all").
struct quality_record {
  std::string protocol;
  std::string fold;
  std::string class_name;     // a class, or "all"
  std::string feature_space;  // e.g. "penultimate features of resnet50 (small) trained on the real training frames"
  std::int64_t real_images = 0;
  std::int64_t synthetic_images = 0;
  std::optional<double> fid;  // absent when a side has too few images for the statistic
  std::optional<double> kid_mean;
  std::optional<double> kid_std;
  std::optional<double> precision;
  std::optional<double> recall;
  std::optional<double> memorization_rate;  // in pixel space, against the generator's training frames
};

// The Classification Accuracy Score (CAS, Ravuri & Vinyals 2019) of one class: the recall of a classifier
// trained on synthetic images beside the recall of the same classifier trained on real frames, both on the same
// real test frames (recall = the confusion's diagonal / its row sum).
struct class_cas {
  std::string class_name;
  std::int64_t test_images = 0;                    // real test frames of the class
  std::optional<double> real_trained_recall;       // absent when the class has no test frame
  std::optional<double> synthetic_trained_recall;
  std::optional<double> ratio;  // synthetic-trained / real-trained recall; absent when the latter is 0 or absent
};

// The CAS of one synth-real row: its accuracy against the real-real row of the same protocol, backbone,
// configuration and trial (the same real test frames, the same classifier recipe, trained on real frames).
struct cas_record {
  std::string protocol, backbone, config;
  std::int64_t trial = 1;
  double real_trained_accuracy = 0;       // the real-real row's
  double synthetic_trained_accuracy = 0;  // the synth-real row's
  std::optional<double> ratio;            // synthetic / real; absent when the real-real accuracy is 0
  std::vector<class_cas> classes;
};

// One trained generator: per protocol and fold, trained on that fold's real training frames.
struct generator_record {
  std::string protocol;
  std::string fold;
  std::int64_t train_images = 0;
  std::vector<std::string> held_out_subjects;  // never seen by this generator
  std::int64_t steps = 0;
  std::vector<std::pair<std::int64_t, double>> loss_curve;  // (step, smoothed loss)
  std::vector<std::int64_t> synthetic_counts;               // per class
  std::string sample_grid;  // path of the per-class sample grid, relative to the results folder
};

struct study_results {
  std::string schema = "fergen-study-results/2";  // /2 added `cas`; /1 files are read with it computed
  std::string fergen_version;
  std::string preset;        // demo, paper, smoke, or "custom"
  std::string data_source;   // what the real frames are, in words
  std::string backbone_size;  // "full" (torchvision) or "small"
  std::int64_t input_size = 0;
  std::int64_t epochs = 0;
  std::int64_t trials = 0;
  std::int64_t seed = 0;
  std::vector<std::string> class_names;
  std::vector<std::int64_t> real_class_counts;
  std::int64_t subjects = 0;
  std::int64_t clips = 0;
  std::vector<trial_record> trials_run;
  std::vector<quality_record> quality;
  std::vector<generator_record> generators;
  std::vector<cas_record> cas;  // one per synth-real row that has its real-real twin (experiment/cas.hpp)
  std::vector<std::string> warnings;
};

}  // namespace experiment
FERGEN_END_NAMESPACE
