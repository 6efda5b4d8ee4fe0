// Tests of models/vgg.hpp: torchvision's VGG-16 exactly, the gray path, tiny variants' gradients.
#include <fergen/models/vgg.hpp>

#include "models/backbone_checks.hpp"

#include <doctest/doctest.h>

using namespace fergen;
using F = cpu<float>;
using D = cpu<double>;
using models::vgg_max_pool;

namespace {

constexpr models::vgg_config tiny{.layers = {3, vgg_max_pool, 4, 5, vgg_max_pool}, .hidden = 6, .pool = 2};
constexpr models::vgg_config tiny_bn{.layers = {3, 4, vgg_max_pool, 5, vgg_max_pool}, .batch_norm = true, .hidden = 6,
                                     .pool = 3};

}  // namespace

TEST_CASE("vgg16 has torchvision's parameter names, shapes, order and count; input errors name it") {
  static_assert(models::classifier_network<models::vgg16<F>>);
  models::vgg16<F> net;
  CHECK(net.name() == "vgg16");
  CHECK(nn::parameter_count(net) == 138'357'544);  // torchvision.models.vgg16()
  const auto names = nn::parameter_names(net);
  REQUIRE(names.size() == 32);
  CHECK(names[0] == "features.0.weight");
  CHECK(names[2] == "features.2.weight");
  CHECK(names[4] == "features.5.weight");   // features.4 is the first max-pool
  CHECK(names[25] == "features.28.bias");
  CHECK(names[26] == "classifier.0.weight");
  CHECK(names[28] == "classifier.3.weight");
  CHECK(names[30] == "classifier.6.weight");
  CHECK(nn::find_parameter(net, "classifier.0.weight").dims == nn::dims{4096, 25088});
  CHECK(net.feature_count() == 4096);
  CHECK(net.min_input_size() == 32);
  CHECK(net.output_shape({2, 3, 160, 160}) == shape{2, 1000, 1, 1});
  // The study's freezing: 16 learnable layers (13 convolutions, 3 linear), the first floor(0.3 * 16) = 4 frozen.
  CHECK(nn::learnable_layers(net).size() == 16);
  CHECK(nn::freeze_first_fraction(net, 0.3) == 4);
  CHECK(nn::find_parameter(net, "features.7.weight").frozen);
  CHECK_FALSE(nn::find_parameter(net, "features.10.weight").frozen);
  // Input errors name the network and the sizes.
  CHECK_THROWS_WITH_AS(net.output_shape({1, 3, 31, 40}),
                       doctest::Contains("vgg16: input [1, 3, 31, 40] is 31x40; vgg16 needs at least 32x32 pixels"),
                       error);
  CHECK_THROWS_WITH_AS(net.output_shape({1, 1, 64, 64}),
                       doctest::Contains("vgg16: input [1, 1, 64, 64] has 1 channels; this network was built for 3"),
                       error);
  CHECK_THROWS_WITH_AS((models::vgg<F, tiny>(7, 4)), doctest::Contains("vgg: in_channels 4 must be 1"), error);
  CHECK_THROWS_WITH_AS((models::vgg<F, tiny>(7, 3, {.dropout = 1.5})), doctest::Contains("dropout 1.5"), error);
}

TEST_CASE("vgg16 reproduces torchvision's VGG-16: logits in eval and train mode, RGB and gray, gradients") {
  // VGG has no BatchNorm: float32 holds the gray path to the RGB network's own logits within 1e-5.
  // Dropout is off: its masks are random in both libraries.
  const auto make = [](std::int64_t in) { return models::vgg16<F>(1000, in, {.dropout = 0}); };
  testing::check_torchvision_parity("vgg16", make, 1e-5,
                                    {"features.0.weight", "features.0.bias", "features.28.weight",
                                     "classifier.0.weight", "classifier.6.weight", "classifier.6.bias"});
}

TEST_CASE("tiny VGGs (with and without BatchNorm, RGB and gray, dropout) pass the gradient check in both modes") {
  for (const bool training : {true, false}) {
    CAPTURE(training);
    const testing::gradient_check_options o{.training = training, .max_checks = 20};
    {
      models::vgg<D, tiny> net(3, 3, {.dropout = 0.3});
      testing::randomize_parameters(net, 1);  // VGG's zero biases would put ReLU inputs on the kink
      testing::check_gradients(net, {2, 3, 9, 8}, o);
    }
    {
      models::vgg<D, tiny_bn> net(4, 1);
      testing::randomize_parameters(net, 2);
      testing::randomize_batchnorm(net, 3);
      testing::check_gradients(net, {3, 1, 8, 8}, o);
    }
  }
  models::vgg<D, tiny_bn> bn(4, 3);
  CHECK(nn::parameter_names(bn) ==
        std::vector<std::string>{"features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
                                 "features.3.weight", "features.3.bias", "features.4.weight", "features.4.bias",
                                 "features.7.weight", "features.7.bias", "features.8.weight", "features.8.bias",
                                 "classifier.0.weight", "classifier.0.bias", "classifier.3.weight",
                                 "classifier.3.bias", "classifier.6.weight", "classifier.6.bias"});
  CHECK(bn.min_input_size() == 4);
  CHECK(nn::find_parameter(bn, "classifier.0.weight").dims == nn::dims{6, 5 * 3 * 3});
}

TEST_CASE("vgg's gray path gives the RGB network's logits for the replicated, normalised image") {
  testing::check_gray_path([](std::int64_t in) { return models::vgg<D, tiny_bn>(5, in); }, {2, 1, 12, 10}, 3, 1e-12);
}

TEST_CASE("freezing the first 30% of a VGG's layers keeps them and trains the rest") {
  models::vgg<F, tiny_bn> net(3, 3, {.dropout = 0});
  // 3 convolutions, 3 BatchNorms, 3 linear layers: 9, of which 2 frozen.
  testing::check_freezing(net, {4, 3, 8, 8}, 9, 2);
}

TEST_CASE("vgg weight files with a missing, unexpected or mis-shaped key are refused, naming it") {
  models::vgg<F, tiny_bn> net(3, 3);
  testing::check_bad_weights(net, "features.4.running_var");
}

TEST_CASE("a 7-class vgg16 takes ImageNet-shaped weights but the head, which it initialises and reports") {
  models::vgg16<F> net(7, 1);
  const auto report = testing::load_reference_weights(net, "vgg16", {.head_seed = 2});
  CHECK(report.weights.loaded.size() == 30);
  CHECK(report.initialised ==
        std::vector<std::string>{"classifier.6.weight (7, 4096): the file has (1000, 4096)",
                                 "classifier.6.bias (7,): the file has (1000,)"});
  // torchvision's rule for VGG's linear layers: normal(0, 0.01), zero bias.
  double sum = 0, squares = 0;
  for (float v : net.head().weight().value.values()) sum += v, squares += static_cast<double>(v) * v;
  const double n = 7 * 4096;
  CHECK(std::abs(sum / n) < 1e-3);
  CHECK(std::sqrt(squares / n) == doctest::Approx(0.01).epsilon(0.05));
  for (float v : net.head().bias()->value.values()) CHECK(v == 0.0f);
}
