// Tests of the composites (sequential, repeat, residual, concat, named) and of freezing and initialisation.
#include <fergen/nn/activation.hpp>
#include <fergen/nn/concat.hpp>
#include <fergen/nn/conv2d.hpp>
#include <fergen/nn/flatten.hpp>
#include <fergen/nn/freeze.hpp>
#include <fergen/nn/group_norm.hpp>
#include <fergen/nn/identity.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/linear.hpp>
#include <fergen/nn/named.hpp>
#include <fergen/nn/parameters.hpp>
#include <fergen/nn/repeat.hpp>
#include <fergen/nn/residual.hpp>
#include <fergen/nn/sequential.hpp>

#include "support/gradient_check.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

using namespace fergen;
using B = cpu<double>;
using nn::named;

namespace {

// torchvision's Bottleneck main path and its projection shortcut, in miniature.
using main_path = nn::sequential<named<"conv1", nn::conv2d<B>>, nn::relu<B>, named<"conv2", nn::conv2d<B>>>;
using projection = nn::sequential<nn::conv2d<B>>;
using block = nn::residual<named<"", main_path>, named<"downsample", projection>>;

block make_block(std::int64_t in, std::int64_t out, std::int64_t stride) {
  return block(main_path(nn::conv2d<B>(in, out, {.kernel = 1, .bias = false}), nn::relu<B>{},
                         nn::conv2d<B>(out, out, {.kernel = 3, .stride = stride, .padding = 1, .bias = false})),
               projection(nn::conv2d<B>(in, out, {.kernel = 1, .stride = stride, .bias = false})));
}

}  // namespace

TEST_CASE("sequential passes values and gradients through every slot") {
  nn::sequential net{nn::conv2d<B>(2, 3, {.kernel = 3, .padding = 1}), nn::tanh<B>{}, nn::flatten<B>{},
                     nn::linear<B>(3 * 4 * 4, 5)};
  testing::randomize_parameters(net, 1);
  testing::check_gradients(net, {2, 2, 4, 4});
  CHECK(net.output_shape({7, 2, 4, 4}) == shape{7, 5, 1, 1});
  CHECK(nn::parameter_names(net) == std::vector<std::string>{"0.weight", "0.bias", "3.weight", "3.bias"});
}

TEST_CASE("residual adds the two paths; gradients flow through both") {
  SUBCASE("identity shortcut") {
    nn::residual<nn::sequential<nn::conv2d<B>, nn::silu<B>>> res(
        nn::sequential{nn::conv2d<B>(3, 3, {.kernel = 3, .padding = 1}), nn::silu<B>{}});
    testing::randomize_parameters(res, 2);
    testing::check_gradients(res, {2, 3, 5, 5});
    CHECK(nn::parameter_names(res) == std::vector<std::string>{"0.0.weight", "0.0.bias"});
  }
  SUBCASE("projection shortcut, named as torchvision's Bottleneck") {
    block res = make_block(2, 4, 2);
    testing::randomize_parameters(res, 3);
    testing::check_gradients(res, {2, 2, 6, 6});
    CHECK(nn::parameter_names(res) ==
          std::vector<std::string>{"conv1.weight", "conv2.weight", "downsample.0.weight"});
  }
}

TEST_CASE("concat stacks branch outputs along channels and splits the gradient back") {
  nn::concat net{named<"branch1x1", nn::conv2d<B>>(nn::conv2d<B>(3, 2, {.kernel = 1})),
                 named<"", nn::sequential<named<"branch3x3_1", nn::conv2d<B>>, named<"branch3x3_2", nn::conv2d<B>>>>(
                     nn::sequential<named<"branch3x3_1", nn::conv2d<B>>, named<"branch3x3_2", nn::conv2d<B>>>(
                         nn::conv2d<B>(3, 2, {.kernel = {1, 3}, .padding = {0, 1}}),
                         nn::conv2d<B>(2, 4, {.kernel = {3, 1}, .padding = {1, 0}}))),
                 nn::identity<B>{}};
  testing::randomize_parameters(net, 4);
  CHECK(net.output_shape({2, 3, 5, 5}) == shape{2, 2 + 4 + 3, 5, 5});
  testing::check_gradients(net, {2, 3, 5, 5});
  CHECK(nn::parameter_names(net) ==
        std::vector<std::string>{"branch1x1.weight", "branch1x1.bias", "branch3x3_1.weight", "branch3x3_1.bias",
                                 "branch3x3_2.weight", "branch3x3_2.bias"});
}

TEST_CASE("repeat builds independent blocks, by factory or from a prototype") {
  nn::repeat<3, block> stage([](std::size_t i) { return make_block(i == 0 ? 2 : 4, 4, i == 0 ? 2 : 1); });
  testing::randomize_parameters(stage, 5);
  testing::check_gradients(stage, {1, 2, 6, 6}, {.max_checks = 60});
  const auto names = nn::parameter_names(stage);
  CHECK(names.front() == "0.conv1.weight");
  CHECK(names.back() == "2.downsample.0.weight");

  nn::repeat<2, nn::conv2d<B>> copies(nn::conv2d<B>(2, 2, {.kernel = 1}));
  copies[0].weight().value.fill(1.0);
  copies[1].weight().value.fill(2.0);
  CHECK(copies[0].weight().value.data()[0] == 1.0);  // copies do not share parameters
}

TEST_CASE("find_parameter returns a parameter by its dotted name; an unknown name lists the known ones") {
  nn::sequential net{nn::conv2d<B>(1, 2, {.kernel = 1}), make_block(2, 2, 1)};
  CHECK(&nn::find_parameter(net, "1.downsample.0.weight") == &net.get<1>().shortcut().get<0>().weight());
  CHECK_THROWS_WITH_AS(nn::find_parameter(net, "1.conv3.weight"),
                       doctest::Contains("no parameter named '1.conv3.weight'; the network has: 0.weight, 0.bias, "
                                         "1.conv1.weight, 1.conv2.weight, 1.downsample.0.weight"),
                       error);
}

TEST_CASE("a copied network owns its parameters") {
  nn::sequential a{nn::conv2d<B>(1, 1, {.kernel = 1})};
  nn::initialize(a, 1);
  auto b = a;
  b.get<0>().weight().value.fill(5.0);
  CHECK(a.get<0>().weight().value.data()[0] != 5.0);
}

TEST_CASE("shape errors name the path of the failing layer and the shapes") {
  nn::sequential net{nn::conv2d<B>(3, 4, {.kernel = 3, .padding = 1}), make_block(4, 8, 2)};
  SUBCASE("channel mismatch at the first slot") {
    CHECK_THROWS_WITH_AS(net.output_shape({1, 2, 8, 8}),
                         doctest::Contains("0: conv2d(3->4, 3x3, stride 1x1): input [1, 2, 8, 8] has 2 channels"), error);
  }
  SUBCASE("mismatch inside a nested composite during forward") {
    nn::sequential broken{nn::conv2d<B>(3, 5, {.kernel = 1}), make_block(4, 8, 2)};
    auto ctx = context<B>::train();
    CHECK_THROWS_WITH_AS(broken.forward(ctx, tensor<cpu<double>>({1, 3, 8, 8})),
                         doctest::Contains("1.conv1: conv2d(4->8"), error);
  }
  SUBCASE("residual paths that disagree") {
    nn::residual<nn::conv2d<B>> res(nn::conv2d<B>(2, 2, {.kernel = 3}));
    CHECK_THROWS_WITH_AS(res.output_shape({1, 2, 6, 6}),
                         doctest::Contains("main path gives [1, 2, 4, 4] but the shortcut gives [1, 2, 6, 6]"), error);
  }
  SUBCASE("concat branches of different sizes") {
    nn::concat cat{nn::conv2d<B>(2, 2, {.kernel = 3}), nn::identity<B>{}};
    CHECK_THROWS_WITH_AS(cat.output_shape({1, 2, 6, 6}), doctest::Contains("branch 1 gives [1, 2, 6, 6], which cannot stack onto [1, 2, 4, 4]"),
                         error);
  }
}

TEST_CASE("a hand-written network's members name its parameters and its error paths from one name") {
  // Children held as members, as the UNet holds them: the name is in the member's type only.
  struct hand_written {
    named<"stem", nn::linear<B>> stem{4, 3};
    std::optional<named<"head", nn::linear<B>>> head;  // absent: no parameters
    nn::named_list<"blocks", nn::linear<B>> blocks;
  } net;
  net.blocks.emplace_back(3, 3);
  net.blocks.emplace_back(3, 2);
  std::vector<std::string> names;
  auto collect = [&](std::string_view name, auto&) { names.emplace_back(name); };
  nn::visit_children(collect, net.stem, net.head, net.blocks);
  CHECK(names == std::vector<std::string>{"stem.weight", "stem.bias", "blocks.0.weight", "blocks.0.bias",
                                          "blocks.1.weight", "blocks.1.bias"});
  net.head.emplace(2, 1);
  names.clear();
  nn::visit_children(collect, net.head);
  CHECK(names == std::vector<std::string>{"head.weight", "head.bias"});

  auto ctx = context<B>::train();
  const tensor<B> x({1, 2, 1, 1});
  CHECK_THROWS_WITH_AS(nn::within(net.stem, [&](auto& l) { return l.forward(ctx, x); }),
                       doctest::Contains("stem: linear(4->3): input [1, 2, 1, 1]"), error);
  CHECK_THROWS_WITH_AS(nn::within(net.blocks, 1, [&](auto& l) { return l.forward(ctx, x); }),
                       doctest::Contains("blocks.1: linear(3->2)"), error);
  CHECK_THROWS_WITH_AS((nn::make_named<named<"norm", nn::group_norm<B>>>(3, 4)),
                       doctest::Contains("norm: group_norm: 4 channels do not divide into 3 groups"), error);
  // Under the empty name a list's elements are its positions, as in torch.nn.Sequential.
  CHECK((nn::named_list<"", nn::linear<B>>::element_name(2)) == "2");
}

TEST_CASE("freeze_first_fraction freezes whole layers in forward order") {
  nn::sequential net{nn::conv2d<B>(1, 2, {.kernel = 1}), nn::relu<B>{}, nn::conv2d<B>(2, 2, {.kernel = 1}),
                     make_block(2, 2, 1), nn::flatten<B>{}, nn::linear<B>(2, 3)};
  const auto layers = nn::learnable_layers(net);
  REQUIRE(layers.size() == 6);  // 0, 2, 3.conv1, 3.conv2, 3.downsample.0, 5
  CHECK(layers[0].name == "0");
  CHECK(layers[0].parameters == std::vector<std::string>{"0.weight", "0.bias"});
  CHECK(layers[4].name == "3.downsample.0");
  CHECK(nn::freeze_first_fraction(net, 0.3) == 1);  // floor(0.3 * 6) = 1
  std::vector<std::string> frozen;
  nn::for_each_parameter(net, [&](std::string_view name, auto& p) {
    if (p.frozen) frozen.emplace_back(name);
  });
  CHECK(frozen == std::vector<std::string>{"0.weight", "0.bias"});
  CHECK(nn::freeze_first_fraction(net, 0.5) == 3);
  CHECK(nn::parameter_count(net, true) == 36 + 4 + 9);  // block.conv2, block.downsample, linear
  nn::unfreeze_all(net);
  CHECK(nn::parameter_count(net, true) == nn::parameter_count(net));
  CHECK_THROWS_WITH_AS(nn::freeze_first_fraction(net, 1.5), doctest::Contains("fraction 1.5"), error);
}

TEST_CASE("initialize is deterministic by seed and follows each layer's rule") {
  using F = cpu<float>;
  auto make = [] { return nn::sequential{nn::conv2d<F>(4, 8, {.kernel = 3}), nn::linear<F>(8, 2)}; };
  auto a = make(), b = make(), c = make();
  nn::initialize(a, 7);
  nn::initialize(b, 7);
  nn::initialize(c, 8);
  CHECK(xt::all(xt::equal(a.get<0>().weight().value.xt(), b.get<0>().weight().value.xt())));
  CHECK_FALSE(xt::all(xt::equal(a.get<0>().weight().value.xt(), c.get<0>().weight().value.xt())));
  // PyTorch's default: uniform in +-1/sqrt(fan_in), fan_in = 4 * 3 * 3 = 36.
  const double bound = 1.0 / 6.0;
  double lo = 1, hi = -1;
  for (float v : a.get<0>().weight().value.values()) {
    lo = std::min(lo, static_cast<double>(v));
    hi = std::max(hi, static_cast<double>(v));
  }
  CHECK(lo >= -bound);
  CHECK(hi <= bound);
  CHECK(hi - lo > 1.8 * bound);  // 288 draws span nearly the whole interval
  // Streams are per parameter: a network with one more layer keeps the earlier layers' values.
  nn::sequential longer{nn::conv2d<F>(4, 8, {.kernel = 3}), nn::linear<F>(8, 2), nn::linear<F>(2, 2)};
  nn::initialize(longer, 7);
  CHECK(xt::all(xt::equal(longer.get<1>().weight().value.xt(), a.get<1>().weight().value.xt())));
}
