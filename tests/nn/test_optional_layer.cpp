// Tests of nn/optional_layer.hpp (a slot holding a layer or nothing) and nn/visitor_ref.hpp.
#include <fergen/nn/activation.hpp>
#include <fergen/nn/batch_norm2d.hpp>
#include <fergen/nn/conv2d.hpp>
#include <fergen/nn/named.hpp>
#include <fergen/nn/optional_layer.hpp>
#include <fergen/nn/parameters.hpp>
#include <fergen/nn/repeat.hpp>
#include <fergen/nn/residual.hpp>
#include <fergen/nn/sequential.hpp>
#include <fergen/nn/visitor_ref.hpp>

#include "support/gradient_check.hpp"

#include <doctest/doctest.h>

using namespace fergen;
using B = cpu<double>;
using nn::named;

namespace {

// torchvision's BasicBlock in miniature: one type, with or without its downsample projection.
using projection = nn::optional_layer<nn::sequential<nn::conv2d<B>, nn::batch_norm2d<B>>>;
using main_path = nn::sequential<named<"conv1", nn::conv2d<B>>, nn::relu<B>, named<"conv2", nn::conv2d<B>>>;
using block = nn::sequential<named<"", nn::residual<named<"", main_path>, named<"downsample", projection>>>, nn::relu<B>>;

block make_block(std::int64_t in, std::int64_t out, std::int64_t stride) {
  projection p;
  if (stride != 1 || in != out) p.emplace(nn::conv2d<B>(in, out, {.kernel = 1, .stride = stride, .bias = false}),
                                          nn::batch_norm2d<B>(out));
  using res = nn::residual<named<"", main_path>, named<"downsample", projection>>;
  return block(res(main_path(nn::conv2d<B>(in, out, {.kernel = 3, .stride = stride, .padding = 1}), nn::relu<B>{},
                             nn::conv2d<B>(out, out, {.kernel = 3, .padding = 1})),
                   std::move(p)),
               nn::relu<B>{});
}

}  // namespace

TEST_CASE("optional_layer is its layer when present and the identity, without parameters, when absent") {
  nn::optional_layer<nn::conv2d<B>> absent;
  CHECK_FALSE(absent.has_value());
  CHECK(absent.get() == nullptr);
  CHECK(absent.output_shape({2, 3, 4, 4}) == shape{2, 3, 4, 4});
  auto ctx = context<B>::train();
  const auto x = testing::random_tensor({2, 3, 4, 4}, 1);
  CHECK(absent.forward(ctx, x).shares_storage_with(x));
  CHECK(absent.backward(ctx, x).shares_storage_with(x));
  CHECK(nn::parameter_names(absent).empty());

  nn::optional_layer<nn::conv2d<B>> present(nn::conv2d<B>(3, 2, {.kernel = 3}));
  CHECK(present.has_value());
  CHECK(present.output_shape({2, 3, 4, 4}) == shape{2, 2, 2, 2});
  CHECK(nn::parameter_names(present) == std::vector<std::string>{"weight", "bias"});
  testing::randomize_parameters(present, 2);
  testing::check_gradients(present, {2, 3, 4, 4});
  present.reset();
  CHECK(nn::parameter_names(present).empty());
}

TEST_CASE("one block type with and without a downsample under one repeat: torchvision's names, gradients") {
  nn::repeat<3, block> stage([](std::size_t i) { return make_block(i == 0 ? 2 : 4, 4, i == 0 ? 2 : 1); });
  const auto names = nn::parameter_names(stage);
  CHECK(std::count(names.begin(), names.end(), "0.downsample.0.weight") == 1);
  CHECK(std::count(names.begin(), names.end(), "0.downsample.1.weight") == 1);
  CHECK(std::none_of(names.begin(), names.end(), [](const std::string& n) { return n.starts_with("1.downsample"); }));
  CHECK(names[4] == "0.downsample.0.weight");
  CHECK(names[7] == "1.conv1.weight");
  for (const bool training : {true, false}) {
    CAPTURE(training);
    testing::randomize_parameters(stage, 3);
    testing::check_gradients(stage, {3, 2, 6, 6}, {.training = training, .max_checks = 40});
  }
}

TEST_CASE("visitor_ref visits what the visitor itself would, in the same order") {
  auto stage = make_block(2, 3, 2);
  std::vector<std::string> direct, erased;
  stage.visit_parameters([&](std::string_view name, auto&) { direct.emplace_back(name); });
  auto collect = [&](std::string_view name, auto&) { erased.emplace_back(name); };
  stage.visit_parameters(nn::visitor_ref<B>(collect));
  CHECK(erased == direct);
  CHECK(direct.size() == 10);  // conv1 (2), conv2 (2), downsample.0 (1), downsample.1 (2 + 3 buffers)
}
