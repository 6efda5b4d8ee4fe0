// Tests of models/resnet.hpp: torchvision's ResNet-50 exactly, the gray path, tiny variants' gradients.
#include <fergen/models/resnet.hpp>

#include "models/backbone_checks.hpp"

#include <doctest/doctest.h>

using namespace fergen;
using F = cpu<float>;
using D = cpu<double>;

namespace {

constexpr models::resnet_config tiny_bottleneck{.layers = {1, 2, 1, 1}, .width = 2};
constexpr models::resnet_config tiny_basic{.layers = {2, 1, 1, 1}, .width = 2, .bottleneck = false};

}  // namespace

TEST_CASE("resnet50 has torchvision's parameter names, shapes, order and count") {
  models::resnet50<F> net;
  static_assert(models::classifier_network<models::resnet50<F>>);
  CHECK(net.name() == "resnet50");
  CHECK(nn::parameter_count(net) == 25'557'032);  // torchvision.models.resnet50()
  const auto names = nn::parameter_names(net);
  CHECK(names.size() == 161);
  CHECK(names.front() == "conv1.weight");
  CHECK(names[3] == "layer1.0.conv1.weight");
  CHECK(names.back() == "fc.bias");
  CHECK(nn::find_parameter(net, "layer1.0.downsample.0.weight").dims == nn::dims{256, 64, 1, 1});
  CHECK(nn::find_parameter(net, "layer4.2.conv2.weight").dims == nn::dims{512, 512, 3, 3});
  CHECK_THROWS_WITH_AS(nn::find_parameter(net, "layer1.1.downsample.0.weight"), doctest::Contains("no parameter"),
                       error);
  std::int64_t buffers = 0;
  nn::for_each_buffer(net, [&](std::string_view, auto&) { ++buffers; });
  CHECK(buffers == 53 * 3);  // running_mean, running_var, num_batches_tracked of 53 BatchNorms
  CHECK(net.feature_count() == 2048);
  CHECK(net.output_shape({2, 3, 160, 160}) == shape{2, 1000, 1, 1});
  CHECK(net.features_shape({2, 3, 160, 160}) == shape{2, 2048, 1, 1});
  // The study's freezing: 107 learnable layers (conv1, bn1, 16 blocks of 3 conv + 3 BN, 4 downsample pairs,
  // fc), the first floor(0.3 * 107) = 32 frozen.
  CHECK(nn::learnable_layers(net).size() == 107);
  CHECK(nn::freeze_first_fraction(net, 0.3) == 32);
  models::resnet50<F> seven(7, 1);
  CHECK(nn::parameter_count(seven) == 23'522'375);  // torchvision.models.resnet50(num_classes=7): same weights
}

TEST_CASE("resnet50 reproduces torchvision's ResNet-50: logits in eval and train mode, RGB and gray") {
  testing::check_torchvision_parity("resnet50", [](std::int64_t in) { return models::resnet50<F>(1000, in); });
}

TEST_CASE("resnet50 in double reproduces torchvision's training pass in float64: gradients and statistics") {
  testing::check_torchvision_training(
      "resnet50", [](std::int64_t in) { return models::resnet50<D>(1000, in); }, "64",
      {"conv1.weight", "bn1.weight", "layer1.0.downsample.0.weight", "layer3.5.conv2.weight", "layer4.2.bn3.bias",
       "fc.weight", "fc.bias"},
      {"bn1.running_mean", "bn1.running_var", "layer4.2.bn3.running_var"}, 1e-9);
}

TEST_CASE("ImageNet-shaped weights in a 7-class resnet50: the body loads, the head is initialised and reported") {
  const auto file = testing::reference_dir("backbones_reference") / "resnet50.npz";
  models::resnet50<F> full(1000, 3), seven(7, 3);
  models::load_backbone_weights(full, file);
  const auto report = models::load_backbone_weights(seven, file, {.head_seed = 4});
  CHECK(report.weights.loaded.size() == 320 - 2);
  REQUIRE(report.initialised.size() == 2);
  CHECK(report.initialised[0] == "fc.weight (7, 2048): the file has (1000, 2048)");
  CHECK(report.initialised[1] == "fc.bias (7,): the file has (1000,)");
  CHECK(report.skipped.empty());
  CHECK(testing::contains(report.summary(), "318 loaded; 2 initialised:\n  fc.weight (7, 2048)"));
  // The features are the 1000-class network's; the head is new, drawn by torchvision's rule for fc.
  auto ctx = context<F>::eval();
  const auto x = testing::random_tensor<float>({2, 3, 64, 64}, 3);
  const auto a = full.forward_features(ctx, x), b = seven.forward_features(ctx, x);
  CHECK(xt::all(xt::equal(a.xt(), b.xt())));
  CHECK(seven.forward(ctx, x).shape() == shape{2, 7, 1, 1});
  const double bound = 1.0 / std::sqrt(2048.0);
  float lo = 1, hi = -1;
  for (float v : seven.head().weight().value.values()) lo = std::min(lo, v), hi = std::max(hi, v);
  CHECK(lo >= -bound);
  CHECK(hi <= bound);
  CHECK(hi - lo > 1.5 * bound);
  // replace_head: another number of classes, same body.
  seven.replace_head(3, 1);
  CHECK(seven.num_classes() == 3);
  CHECK(seven.forward(ctx, x).shape() == shape{2, 3, 1, 1});
  CHECK(xt::all(xt::equal(seven.forward_features(ctx, x).xt(), a.xt())));
}

TEST_CASE("tiny ResNets (Bottleneck and BasicBlock, RGB and gray) pass the gradient check in both modes") {
  for (const bool training : {true, false}) {
    CAPTURE(training);
    const testing::gradient_check_options o{.training = training, .max_checks = 6};
    {
      models::resnet<D, tiny_bottleneck> net(3, 3);
      nn::initialize(net, 1);
      testing::randomize_batchnorm(net, 2);
      testing::check_gradients(net, {3, 3, 36, 36}, o);  // layer4 sees 2x2 maps: 12 values per BatchNorm channel
    }
    {
      models::resnet<D, tiny_basic> net(4, 1);
      nn::initialize(net, 3);
      testing::randomize_batchnorm(net, 4);
      testing::check_gradients(net, {3, 1, 36, 36}, o);
    }
  }
  models::resnet<D, tiny_basic> basic(4, 3);
  const auto names = nn::parameter_names(basic);
  CHECK(std::find(names.begin(), names.end(), "layer1.0.downsample.0.weight") == names.end());
  CHECK(std::find(names.begin(), names.end(), "layer2.0.downsample.0.weight") != names.end());
  CHECK(basic.feature_count() == 16);
}

// In double: through training-mode BatchNorms float32 keeps only about four digits of any two computations
// of the same logits (here 1e-4), so exactness shows in double.
TEST_CASE("resnet50's gray path gives the RGB network's logits for the replicated, normalised image") {
  testing::check_gray_path([](std::int64_t in) { return models::resnet50<D>(5, in); }, {2, 1, 40, 36}, 11, 1e-10);
}

TEST_CASE("freezing the first 30% of a ResNet's layers keeps them and trains the rest") {
  models::resnet<F, tiny_bottleneck> net(3, 3);
  // conv1, bn1; 5 blocks of 3 conv + 3 BN; 4 downsample pairs; fc: 2 + 30 + 8 + 1 = 41 layers, 12 frozen.
  testing::check_freezing(net, {4, 3, 24, 24}, 41, 12);
}

TEST_CASE("resnet weight files with a missing, unexpected or mis-shaped key are refused, naming it") {
  models::resnet<F, tiny_bottleneck> net(3, 3);
  testing::check_bad_weights(net, "layer2.1.conv2.weight");
}

TEST_CASE("resnet input errors name the network and the shapes") {
  models::resnet50<F> net(7, 1);
  CHECK_THROWS_WITH_AS(net.output_shape({2, 3, 64, 64}),
                       doctest::Contains("resnet50: input [2, 3, 64, 64] has 3 channels; this network was built for 1"),
                       error);
  CHECK_THROWS_WITH_AS(models::resnet50<F>(7, 2), doctest::Contains("resnet: in_channels 2 must be 1"), error);
  CHECK_THROWS_WITH_AS(models::resnet50<F>(0, 3), doctest::Contains("num_classes must be positive, got 0"), error);
}
