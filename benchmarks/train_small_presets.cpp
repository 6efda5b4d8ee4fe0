// train_small_presets: how far the small backbone presets get on the built-in procedural faces in a couple of
// epochs on this CPU (accuracy, UF1, seconds): a figure for the docs, measured, never asserted.
//
//   train_small_presets [--epochs 2] [--threads 2] [--size 64] [--split random|subject] [--channels 1|3]
//                       [--batch 16] [--lr 1e-3]
//
// The faces: 10 subjects, one clip per class each, 48x48 frames (the study's size), resized on load to --size
// (Inception's preset needs at least 75: it gets max(size, 80)). The split is the study's random 80/20 of
// frames (which leaks: frames of one clip fall on both sides) or one subject-independent fold (2 subjects
// held out).
#include <fergen/data/procedural_faces.hpp>
#include <fergen/data/resize.hpp>
#include <fergen/data/split.hpp>
#include <fergen/eval/train_classifier.hpp>
#include <fergen/models/backbones.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/parameters.hpp>

#include <omp.h>

#include "bench_support.hpp"

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  using namespace fergen;
  std::int64_t epochs = 2, threads = 2, size = 64, channels = 1, batch = 16;
  double lr = 1e-3;
  std::string split = "random";
  bench::command_line args("train_small_presets");
  args.option("--epochs", epochs, "N")
      .option("--threads", threads, "N")
      .option("--size", size, "N")
      .option("--split", split, "random|subject")
      .option("--channels", channels, "1|3")
      .option("--batch", batch, "N")
      .option("--lr", lr, "LR");
  if (!args.parse(argc, argv)) return 2;
  omp_set_num_threads(static_cast<int>(threads));
  data::dataset faces = data::procedural_faces({});
  for (std::int64_t i = 0; i < faces.size(); ++i) faces[i].image = data::resize_bilinear(faces[i].image, 48, 48);
  const data::split s = split == "random" ? data::random_split(faces, 0.2, 0, true) : data::subject_kfold(faces, 5, 0)[0];
  const data::dataset train = faces.subset(s.train), test = faces.subset(s.test);
  std::printf("procedural faces: %lld frames, 7 classes (chance 14.3%%); %s split: %zu train, %zu test; %lld epochs, "
              "%lld threads, %lld input channel%s\n",
              static_cast<long long>(faces.size()), s.name.c_str(), s.train.size(), s.test.size(),
              static_cast<long long>(epochs), static_cast<long long>(threads), static_cast<long long>(channels),
              channels == 1 ? "" : "s");
  std::printf("%-20s %6s %10s %9s %9s %8s %8s %9s\n", "preset", "input", "parameters", "train acc", "accuracy", "UF1",
              "UAR", "seconds");
  for (const auto b : models::all_backbones) {
    const std::int64_t input = b == models::backbone::inception_v3 ? std::max<std::int64_t>(size, 80) : size;
    models::with_backbone<cpu<float>>(b, models::backbone_size::small, {.num_classes = 7, .in_channels = channels},
                                      [&](auto& net) {
      nn::initialize(net, 1);
      const auto r = eval::train_classifier(net, train, nullptr,
                                            {.epochs = epochs, .batch_size = batch, .image_size = input,
                                             .optimizer = eval::optimizer_kind::adam, .lr = lr,
                                             .schedule = eval::lr_decay::cosine, .warmup_epochs = 0.25, .seed = 0,
                                             .progress = nullptr});
      const auto p = eval::predict(net, test, {.image_size = input});
      const auto m = p.metrics();
      std::printf("%-20s %6lld %10lld %8.1f%% %8.1f%% %8.3f %8.3f %9.1f\n", net.name().c_str(),
                  static_cast<long long>(input), static_cast<long long>(nn::parameter_count(net)),
                  100 * r.history.back().train_accuracy, 100 * m.accuracy, m.uf1, m.uar, r.seconds);
      std::fflush(stdout);
    });
  }
  return 0;
}
