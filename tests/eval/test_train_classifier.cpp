// Tests of eval/train_classifier.hpp and eval/predict.hpp: tiny backbones learn a separable task, runs are
// reproducible, freezing, checkpoints, the auxiliary loss, predictions and features.
#include <fergen/data/dataset_view.hpp>
#include <fergen/eval/predict.hpp>
#include <fergen/eval/train_classifier.hpp>
#include <fergen/models/inception.hpp>
#include <fergen/models/resnet.hpp>
#include <fergen/models/vgg.hpp>
#include <fergen/models/backbones.hpp>
#include <fergen/nn/initialize.hpp>

#include "support/errors.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <tuple>
#include <vector>
#include <filesystem>

using namespace fergen;
using F = cpu<float>;

namespace {

constexpr models::resnet_config tiny_resnet{.layers = {1, 1, 1, 1}, .width = 4, .bottleneck = false};
constexpr models::vgg_config tiny_vgg{.layers = {8, models::vgg_max_pool, 16, models::vgg_max_pool}, .hidden = 32,
                                      .pool = 1};
constexpr models::inception_config narrow{.divisor = 16};

// Three classes told apart by where a bright blob sits (left, right, bottom), under noise and a random
// brightness: separable, but only by looking at the image.
data::dataset blobs(std::int64_t per_class, std::uint64_t seed, std::int64_t size = 24, std::int64_t channels = 1) {
  data::dataset ds({"left", "right", "bottom"});
  const random_stream s = generator(seed).take();
  std::uint64_t k = 0;
  for (std::int64_t c = 0; c < 3; ++c) {
    for (std::int64_t i = 0; i < per_class; ++i) {
      data::image img(channels, size, size);
      const double cy = c == 2 ? 0.75 : 0.4, cx = c == 0 ? 0.25 : c == 1 ? 0.75 : 0.5;
      const double gain = 120 + 80 * static_cast<double>(s.uniform(k++));
      for (std::int64_t ch = 0; ch < channels; ++ch)
        for (std::int64_t y = 0; y < size; ++y)
          for (std::int64_t x = 0; x < size; ++x) {
            const double dy = static_cast<double>(y) / static_cast<double>(size) - cy;
            const double dx = static_cast<double>(x) / static_cast<double>(size) - cx;
            const double v = 40 + gain * std::exp(-(dx * dx + dy * dy) / 0.02) + 25 * s.normal(k++);
            img.at(ch, y, x) = static_cast<float>(std::clamp(v, 0.0, 255.0));
          }
      ds.add({std::move(img), c, "s" + std::to_string(i % 5), "", i, ""});
    }
  }
  return ds;
}

template <class Net>
std::vector<float> all_values(Net& net) {
  std::vector<float> v;
  net.visit_parameters([&](std::string_view, auto& item) {
    for (float x : item.value.values()) v.push_back(x);
  });
  return v;
}

}  // namespace

TEST_CASE("a tiny ResNet learns a separable task to more than 95% validation accuracy in under a minute") {
  const data::dataset train = blobs(60, 1), val = blobs(30, 2);
  models::resnet<F, tiny_resnet> net(3, 1);
  nn::initialize(net, 3);
  const auto start = std::chrono::steady_clock::now();
  const auto result = eval::train_classifier(
      net, train, &val,
      {.epochs = 4, .batch_size = 16, .optimizer = eval::optimizer_kind::adam, .lr = 3e-3,
       .schedule = eval::lr_decay::cosine, .warmup_epochs = 0.5, .seed = 5, .workers = 1, .progress = nullptr});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(result.history.size() == 4);
  const auto& last = result.history.back();
  MESSAGE("tiny ResNet: validation accuracy " << last.val_accuracy << " (train " << last.train_accuracy << ") after "
                                              << result.steps << " steps in " << seconds << " s");
  CHECK(last.val_accuracy > 0.95);
  CHECK(seconds < 60);
  CHECK(result.steps == 4 * 12);  // 180 images in batches of 16
  CHECK(result.history.front().train_loss > last.train_loss);
  const auto p = eval::predict(net, val);
  CHECK(p.metrics().accuracy == doctest::Approx(last.val_accuracy));
  CHECK(p.loss == doctest::Approx(last.val_loss));
}

TEST_CASE("a run is reproducible: same seed, same history and weights, whatever the loader's workers") {
  const data::dataset train = blobs(10, 3);
  auto run = [&](std::uint64_t seed, std::int64_t workers) {
    models::vgg<F, tiny_vgg> net(3, 3, {.dropout = 0.3});  // dropout draws from the seed too
    nn::initialize(net, 1);
    const auto r = eval::train_classifier(net, train, nullptr,
                                          {.epochs = 2, .batch_size = 8, .image_size = 20, .policy = eval::augmentation::study,
                                           .momentum = 0.9, .seed = seed, .workers = workers, .progress = nullptr});
    return std::pair(r.history.back().train_loss, all_values(net));
  };
  const auto a = run(7, 0), b = run(7, 2), c = run(8, 2);
  CHECK(a.first == b.first);
  CHECK(a.second == b.second);
  CHECK(a.second != c.second);
}

TEST_CASE("a view of a dataset trains and predicts as the same samples copied out of it") {
  // The study trains on views of its folds instead of copies: the loader's shuffle and augmentation depend on
  // positions only, so the runs must agree to the bit.
  const data::dataset all = blobs(12, 6);
  std::vector<std::int64_t> picked;
  for (std::int64_t i = all.size() - 1; i >= 0; i -= 2) picked.push_back(i);  // every other frame, backwards
  const data::dataset_view view(all, picked);
  const data::dataset copy = all.subset(picked);
  auto run = [](const data::dataset_view& train, const data::dataset_view& test) {
    models::vgg<F, tiny_vgg> net(3, 3, {.dropout = 0.3});
    nn::initialize(net, 1);
    const auto r = eval::train_classifier(net, train, nullptr,
                                          {.epochs = 2, .batch_size = 5, .image_size = 20, .policy = eval::augmentation::study,
                                           .seed = 4, .workers = 2, .progress = nullptr});
    return std::tuple(r.history.back().train_loss, all_values(net),
                      eval::predict(net, test, {.batch_size = 4, .image_size = 20}).logits);
  };
  const auto on_view = run(view, view.subset(std::vector<std::int64_t>{3, 0, 1}));
  const auto on_copy = run(copy, data::dataset_view(copy, {3, 0, 1}));
  CHECK(std::get<0>(on_view) == std::get<0>(on_copy));
  CHECK(std::get<1>(on_view) == std::get<1>(on_copy));
  CHECK(std::get<2>(on_view) == std::get<2>(on_copy));
  CHECK(std::get<1>(on_view) != std::get<1>(run(all, all)));  // other samples, another network
}

TEST_CASE("freezing, checkpoints, the history file and the progress line") {
  const data::dataset train = blobs(8, 4), val = blobs(4, 5);
  const auto dir = std::filesystem::temp_directory_path() / "fergen-test-train-classifier";
  std::filesystem::remove_all(dir);
  models::resnet<F, tiny_resnet> net(3, 3);
  nn::initialize(net, 2);
  const auto before = all_values(net);
  std::FILE* log = std::tmpfile();
  REQUIRE(log != nullptr);
  std::vector<eval::epoch_record> seen;
  const auto r = eval::train_classifier(
      net, train, &val,
      {.epochs = 2, .batch_size = 6, .lr = 0.05, .freeze_fraction = 0.3, .workers = 0, .progress = log,
       .progress_every = 2, .checkpoint_dir = dir, .on_epoch = [&](const eval::epoch_record& e) { seen.push_back(e); }});
  // conv1, bn1; 4 blocks of 2 convolutions and 2 BatchNorms; 3 downsample pairs; fc: 25 layers, 7 frozen.
  CHECK(nn::learnable_layers(net).size() == 25);
  CHECK(r.frozen_layers == 7);
  CHECK(nn::find_parameter(net, "layer2.0.conv1.weight").frozen);
  CHECK_FALSE(nn::find_parameter(net, "layer2.0.bn1.weight").frozen);
  CHECK(all_values(net) != before);
  CHECK(std::equal(before.begin(), before.begin() + 4 * 3 * 7 * 7, all_values(net).begin()));  // conv1 kept
  REQUIRE(seen.size() == 2);
  CHECK(seen[1].epoch == 2);
  CHECK(seen[1].val_accuracy == r.history[1].val_accuracy);

  std::rewind(log);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), log));
  std::fclose(log);
  CHECK(testing::contains(text, "resnet epoch 1/2 step 2/4 loss "));
  CHECK(testing::contains(text, " img/s ETA "));
  CHECK(testing::contains(text, "resnet epoch 2/2 done in "));
  CHECK(testing::contains(text, "val loss "));

  REQUIRE(std::filesystem::exists(dir / "last.npz"));
  REQUIRE(std::filesystem::exists(dir / "best.npz"));
  std::ifstream history(dir / "history.csv");
  std::string header, line1, line2;
  std::getline(history, header);
  std::getline(history, line1);
  std::getline(history, line2);
  CHECK(header == "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds,images_per_second");
  CHECK(line2.starts_with("2,"));
  models::resnet<F, tiny_resnet> reloaded(3, 3);
  nn::load_weights(reloaded, dir / "last.npz");
  CHECK(all_values(reloaded) == all_values(net));
  std::filesystem::remove_all(dir);
}

TEST_CASE("predict: labels are the logits' argmax, features feed the head, 3-channel inputs are normalised") {
  const data::dataset ds = blobs(5, 6, 20, 3);  // RGB images
  models::vgg<F, tiny_vgg> net(4, 3);           // one class more than the dataset: allowed
  nn::initialize(net, 4);
  const auto p = eval::predict(net, ds, {.batch_size = 4, .workers = 0, .features = true});
  REQUIRE(p.size() == 15);
  CHECK(p.classes == 4);
  CHECK(p.feature_count == 32);
  CHECK(p.features.size() == 15 * 32);
  CHECK(p.truth[14] == 2);
  // The first image by hand: rescale, normalise, forward.
  auto ctx = context<F>::eval();
  tensor<F> x({1, 3, 20, 20});
  for (std::int64_t i = 0; i < x.size(); ++i) x.data()[i] = ds[0].image.pixels[static_cast<std::size_t>(i)] / 255.0f;
  const tensor<F> f = net.forward_features(ctx, models::imagenet::normalize(ctx, x));
  const tensor<F> y = net.head().forward(ctx, f);
  for (std::int64_t k = 0; k < 4; ++k) CHECK(p.logits[static_cast<std::size_t>(k)] == doctest::Approx(y.data()[k]).epsilon(1e-5));
  for (std::int64_t j = 0; j < 32; ++j) CHECK(p.features[static_cast<std::size_t>(j)] == doctest::Approx(f.data()[j]).epsilon(1e-5));
  const auto row = p.logits.begin();
  CHECK(p.labels[0] == std::max_element(row, row + 4) - row);
  const auto m = p.metrics();
  CHECK(m.samples == 15);
  CHECK(m.classes == 4);
}

TEST_CASE("Inception-V3's auxiliary head gets aux_weight of its loss, and nothing with aux_weight 0") {
  const data::dataset train = blobs(2, 7, 299);
  auto run = [&](double aux_weight) {
    models::inception<F, narrow> net(3, 1, {.aux_logits = true});
    nn::initialize(net, 1);
    std::vector<float> aux_before, aux_after;
    nn::for_each_parameter(net, [&](std::string_view name, auto& p) {
      if (name.starts_with("AuxLogits.")) aux_before.insert(aux_before.end(), p.value.values().begin(), p.value.values().end());
    });
    const auto r = eval::train_classifier(net, train, nullptr,
                                          {.epochs = 1, .batch_size = 6, .aux_weight = aux_weight, .workers = 0,
                                           .progress = nullptr});
    nn::for_each_parameter(net, [&](std::string_view name, auto& p) {
      if (name.starts_with("AuxLogits.")) aux_after.insert(aux_after.end(), p.value.values().begin(), p.value.values().end());
    });
    return std::pair(aux_before == aux_after, r.history[0].train_loss);
  };
  const auto [unchanged0, loss0] = run(0);
  const auto [unchanged4, loss4] = run(0.4);
  CHECK(unchanged0);
  CHECK_FALSE(unchanged4);
  CHECK(loss4 > loss0);  // the logged loss includes 0.4 x the auxiliary one
}

TEST_CASE("the backbones by name: each preset builds, trains a step and names itself") {
  const data::dataset train = blobs(2, 8, 80);
  for (const auto b : models::all_backbones) {
    CAPTURE(models::to_string(b));
    const double loss = models::with_backbone<F>(b, models::backbone_size::small, {.num_classes = 3, .in_channels = 1},
                                                 [&](auto& net) {
                                                   nn::initialize(net, 1);
                                                   CHECK(net.name() == std::string(models::to_string(b)) + "_small");
                                                   return eval::train_classifier(net, train, nullptr,
                                                                                 {.epochs = 1, .batch_size = 6, .workers = 0,
                                                                                  .progress = nullptr})
                                                       .history[0]
                                                       .train_loss;
                                                 });
    CHECK(std::isfinite(loss));
  }
  CHECK(models::parse_backbone("resnet50") == models::backbone::resnet50);
  CHECK(testing::contains(testing::error_of([] { models::parse_backbone("alexnet"); }),
                          "backbone 'alexnet' is not one of: vgg16, resnet50, inception_v3"));
  CHECK(models::min_input_size(models::backbone::inception_v3, models::backbone_size::small) == 75);
}

TEST_CASE("train_classifier refuses bad options and mismatched data, naming them") {
  const data::dataset train = blobs(2, 9);
  models::resnet<F, tiny_resnet> two(2, 1), net(3, 1);
  CHECK(testing::contains(testing::error_of([&] { eval::train_classifier(two, train, nullptr, {.progress = nullptr}); }),
                          "the training set has 3 classes, the network resnet only 2"));
  CHECK(testing::contains(testing::error_of([&] { eval::train_classifier(net, train, nullptr, {.epochs = 0}); }),
                          "epochs 0 must be >= 1"));
  CHECK(testing::contains(
      testing::error_of([&] { eval::train_classifier(net, train, nullptr, {.schedule = eval::lr_decay::step}); }),
      "the step schedule needs step_epochs >= 1"));
  CHECK(testing::contains(testing::error_of([&] { eval::train_classifier(net, train, nullptr, {.freeze_fraction = 1}); }),
                          "freeze_fraction 1 must lie in [0, 1)"));
  CHECK(testing::contains(testing::error_of([] { eval::parse_optimizer("rmsprop"); }), "optimizer 'rmsprop'"));
}
