// Tests of models/inception.hpp: torchvision's Inception-V3 exactly (with its auxiliary head and
// transform_input), the gray path, every block's gradients.
#include <fergen/models/inception.hpp>

#include "models/backbone_checks.hpp"

#include <doctest/doctest.h>

using namespace fergen;
using F = cpu<float>;
using D = cpu<double>;

namespace {

constexpr models::inception_config narrow{.divisor = 16};

// One block of a narrow Inception, with its parameters drawn at random (BatchNorm statistics too).
template <class Block>
void check_block(Block block, shape input, bool training) {
  testing::randomize_parameters(block, 1);
  testing::randomize_batchnorm(block, 2);
  testing::check_gradients(block, input, {.training = training, .max_checks = 8});
}

}  // namespace

TEST_CASE("inception_v3 has torchvision's parameter names, shapes, order and count; input errors name it") {
  static_assert(models::classifier_network<models::inception_v3<F>>);
  models::inception_v3<F> net;
  CHECK(net.name() == "inception_v3");
  CHECK(nn::parameter_count(net) == 23'834'568);  // torchvision.models.inception_v3(aux_logits=False)
  CHECK(net.feature_count() == 2048);
  CHECK(net.min_input_size() == 75);
  CHECK(net.output_shape({2, 3, 75, 75}) == shape{2, 1000, 1, 1});
  CHECK(net.features_shape({2, 3, 299, 299}) == shape{2, 2048, 1, 1});
  const auto names = nn::parameter_names(net);
  CHECK(names.front() == "Conv2d_1a_3x3.conv.weight");
  CHECK(names[9] == "Conv2d_3b_1x1.conv.weight");
  CHECK(names.back() == "fc.bias");
  CHECK(nn::find_parameter(net, "Mixed_6b.branch7x7dbl_2.conv.weight").dims == nn::dims{128, 128, 7, 1});
  CHECK(nn::find_parameter(net, "Mixed_7c.branch3x3dbl_3b.conv.weight").dims == nn::dims{384, 384, 3, 1});
  // The study's freezing: 189 learnable layers (94 convolutions with their BatchNorms, fc), 56 frozen.
  CHECK(nn::learnable_layers(net).size() == 189);
  CHECK(nn::freeze_first_fraction(net, 0.3) == 56);

  models::inception_v3<F> aux(1000, 3, {.aux_logits = true});
  CHECK(nn::parameter_count(aux) == 27'161'264);  // torchvision.models.inception_v3(): with AuxLogits
  CHECK(nn::learnable_layers(aux).size() == 194);
  CHECK(nn::freeze_first_fraction(aux, 0.3) == 58);
  const auto aux_names = nn::parameter_names(aux);
  const auto at = std::find(aux_names.begin(), aux_names.end(), "AuxLogits.conv0.conv.weight");
  REQUIRE(at != aux_names.end());
  CHECK(*(at - 1) == "Mixed_6e.branch_pool.bn.bias");  // after Mixed_6e, as torchvision registers it
  CHECK(*(at + 6) == "AuxLogits.fc.weight");
  CHECK(*(at + 8) == "Mixed_7a.branch3x3_1.conv.weight");

  CHECK_THROWS_WITH_AS(net.output_shape({1, 3, 74, 80}),
                       doctest::Contains("inception_v3: input [1, 3, 74, 80] is 74x80; inception_v3 needs at least "
                                         "75x75 pixels"),
                       error);
  CHECK_THROWS_WITH_AS((models::inception<F, narrow>(7, 3, {.dropout = -1})), doctest::Contains("dropout -1"), error);
  CHECK_THROWS_WITH_AS((models::inception<F, narrow>(7, 2)), doctest::Contains("in_channels 2 must be 1"), error);
  // The auxiliary head needs 299x299 inputs, in training only (in evaluation it does not run).
  models::inception<F, narrow> small_aux(3, 3, {.aux_logits = true});
  auto train = context<F>::train();
  CHECK_THROWS_WITH_AS(small_aux.forward(train, tensor<F>({2, 3, 160, 160})),
                       doctest::Contains("AuxLogits: Mixed_6e gives [2, 48, 8, 8]; the auxiliary head needs maps of at "
                                         "least 17x17, that is inputs of at least 299x299"),
                       error);
  auto eval = context<F>::eval();
  CHECK(small_aux.forward(eval, tensor<F>({2, 3, 160, 160})).shape() == shape{2, 3, 1, 1});
  CHECK(small_aux.aux_logits() == nullptr);
}

TEST_CASE("inception_v3 reproduces torchvision's Inception-V3 (transform_input): logits in eval and train mode, "
          "RGB and gray") {
  // The file has AuxLogits, which this network skips; dropout is off (random masks in both libraries).
  testing::check_torchvision_parity("inception_v3", [](std::int64_t in) {
    return models::inception_v3<F>(1000, in, {.transform_input = true, .dropout = 0});
  });
}

TEST_CASE("inception_v3 in double reproduces torchvision's training pass in float64: gradients and statistics") {
  testing::check_torchvision_training(
      "inception_v3",
      [](std::int64_t in) { return models::inception_v3<D>(1000, in, {.transform_input = true, .dropout = 0}); }, "64",
      {"Conv2d_1a_3x3.conv.weight", "Conv2d_1a_3x3.bn.weight", "Mixed_5b.branch_pool.conv.weight",
       "Mixed_6e.branch7x7dbl_5.conv.weight", "Mixed_7c.branch3x3dbl_3b.conv.weight", "fc.weight", "fc.bias"},
      {"Conv2d_1a_3x3.bn.running_mean", "Mixed_7c.branch_pool.bn.running_var"}, 1e-9);
}

TEST_CASE("inception_v3 with its auxiliary head reproduces torchvision's training pass at 299x299 in float64") {
  const auto io = testing::load_reference("backbones_reference", "inception_v3_io");
  models::inception_v3<D> net(1000, 3, {.aux_logits = true, .transform_input = true, .dropout = 0});
  const auto report = testing::load_reference_weights(net, "inception_v3");
  CHECK(report.initialised.empty());
  CHECK(report.skipped.empty());
  auto ctx = context<D>::train(1);
  const tensor<D> y = net.forward(ctx, testing::to_tensor<double>(testing::member(io, "aux_x")));
  CHECK(testing::max_relative_difference(y, testing::member(io, "aux64_logits")) <= 1e-9);
  REQUIRE(net.aux_logits() != nullptr);
  CHECK(testing::max_relative_difference(*net.aux_logits(), testing::member(io, "aux64_aux")) <= 1e-9);
  nn::zero_grad(net);
  net.set_aux_gradient(testing::to_tensor<double>(testing::member(io, "aux_r2")));
  net.backward(ctx, testing::to_tensor<double>(testing::member(io, "aux_r")));
  for (const std::string name : {"Conv2d_1a_3x3.conv.weight", "Mixed_6e.branch1x1.conv.weight",
                                 "AuxLogits.conv1.conv.weight", "AuxLogits.fc.weight"})
    testing::check_gradient_of(net, testing::member(io, "aux64_grad." + name), name, 1e-9);
}

TEST_CASE("a 7-class inception_v3 takes ImageNet-shaped weights but its heads, which it initialises and reports") {
  models::inception_v3<F> with_aux(7, 1, {.aux_logits = true}), without(7, 3);
  const auto a = testing::load_reference_weights(with_aux, "inception_v3", {.head_seed = 5});
  CHECK(a.initialised == std::vector<std::string>{"AuxLogits.fc.weight (7, 768): the file has (1000, 768)",
                                                  "AuxLogits.fc.bias (7,): the file has (1000,)",
                                                  "fc.weight (7, 2048): the file has (1000, 2048)",
                                                  "fc.bias (7,): the file has (1000,)"});
  CHECK(a.skipped.empty());
  const auto b = testing::load_reference_weights(without, "inception_v3", {.head_seed = 5});
  CHECK(b.initialised.size() == 2);
  CHECK(b.skipped.size() == 14);  // AuxLogits: 2 convolutions with BatchNorm (6 entries each) and fc (2)
  CHECK(b.skipped.front() == "AuxLogits.conv0.bn.bias (128,)");
  CHECK(testing::contains(b.summary(), "14 in the file and not in the network, skipped:"));
  // Without AuxLogits in the file, a network with the head initialises it.
  models::inception<F, narrow> narrow_aux(3, 3, {.aux_logits = true}), narrow_plain(3, 3);
  nn::initialize(narrow_plain, 1);
  const auto c = models::load_backbone_state(narrow_aux, nn::state_dict(narrow_plain), "plain.npz");
  CHECK(c.initialised.size() == 14);  // all of AuxLogits, buffers included
  CHECK(c.initialised.front() == "AuxLogits.conv0.conv.weight (8, 48, 1, 1): not in the file");
}

TEST_CASE("every Inception block (A to E, the auxiliary head) passes the gradient check in both modes") {
  const models::inception_config c = narrow;
  for (const bool training : {true, false}) {
    CAPTURE(training);
    check_block(models::detail::make_inception_a<D>(c, 5, 32).block, {2, 5, 5, 5}, training);
    check_block(models::detail::make_inception_b<D>(c, 5).block, {2, 5, 7, 7}, training);
    check_block(models::detail::make_inception_c<D>(c, 6, 128).block, {2, 6, 5, 5}, training);
    check_block(models::detail::make_inception_d<D>(c, 6).block, {2, 6, 7, 7}, training);
    check_block(models::detail::make_inception_e<D>(c, 7).block, {2, 7, 3, 3}, training);
    check_block(models::detail::make_inception_aux<D>(c, 6, 4), {3, 6, 17, 17}, training);
  }
}

TEST_CASE("a narrow Inception-V3 (RGB with transform_input, gray) passes the gradient check end to end") {
  for (const std::int64_t in : {3, 1}) {
    CAPTURE(in);
    // torchvision's initialisation and training mode keep the activations of 48 layers in range (random
    // weights in evaluation mode grow them a thousandfold, and central differences lose their digits); 3
    // images of 107x107 leave Mixed_7c 2x2 maps, 12 values per BatchNorm channel.
    models::inception<D, narrow> net(3, in, {.transform_input = in == 3, .dropout = 0.2});
    nn::initialize(net, 3);
    testing::randomize_batchnorm(net, 4);
    // The input's gradient flows through every layer; the parameters checked are the first layer's, one block
    // of each kind in the middle and the head (a few hundred more would cost a minute).
    nn::set_frozen(net, true, [](std::string_view name) {
      return !(name.starts_with("Conv2d_1a_3x3.") || name.starts_with("Mixed_5d.branch3x3dbl_3.") ||
               name.starts_with("Mixed_6e.branch7x7dbl_1.") || name.starts_with("Mixed_7b.branch3x3_2b.") ||
               name.starts_with("fc."));
    });
    // A step of 1e-9 rather than 1e-6: a perturbation moves every activation, and in a network of 48
    // layers a step of 1e-6 or 1e-7 crosses enough ReLU and max-pool kinks to move central differences by
    // 1% (they change with the step; the analytic gradient does not, and matches torchvision's float64 ones
    // to 1e-9 at full width). At 1e-9 rounding leaves about 1e-5, hence the tolerance. Every block is held
    // to 1e-6 above.
    testing::check_gradients(net, {3, in, 107, 107},
                             {.training = true, .step = 1e-9, .tolerance = 1e-4, .max_checks = 4});
  }
}

// The fold is the first layer's alone, so a narrow network shows it as well as the full one (whose gray
// logits match torchvision's for the normalised image above).
TEST_CASE("inception's gray path gives the RGB network's logits for the replicated, normalised image") {
  for (const bool transform : {false, true}) {
    CAPTURE(transform);
    testing::check_gray_path(
        [&](std::int64_t in) { return models::inception<D, narrow>(4, in, {.transform_input = transform}); },
        {3, 1, 80, 75}, 17, 1e-9);
  }
}

TEST_CASE("freezing the first 30% of an Inception's layers keeps them and trains the rest") {
  models::inception<F, narrow> net(3, 3, {.dropout = 0});
  testing::check_freezing(net, {2, 3, 75, 75}, 189, 56);
}

TEST_CASE("inception weight files with a missing, unexpected or mis-shaped key are refused, naming it") {
  models::inception<F, narrow> net(3, 3);
  testing::check_bad_weights(net, "Mixed_6c.branch7x7dbl_3.bn.running_mean");
}
