// Tests of nn/group_norm.hpp and the CPU kernel backend/cpu/group_norm.hpp.
#include <fergen/nn/group_norm.hpp>
#include <fergen/nn/parameters.hpp>

#include <omp.h>
#include <xtensor/xoperation.hpp>

#include "support/gradient_check.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <string>
#include <tuple>
#include <vector>

using namespace fergen;

namespace {

constexpr const char* fixture = "norm_reference";

// Compares with PyTorch's result of the same precision; in float32 on ill-conditioned inputs (see
// norm_reference.py) with its float64 result, the exact answer, since PyTorch's float32 result is itself
// further than the tolerance from it there.
template <class T>
void check_close(const tensor<cpu<T>>& actual, const npz_archive& ref, const std::string& key, double tolerance) {
  CAPTURE(key);
  const bool exact = key.ends_with("32") && testing::values_of<std::int64_t>(ref, "ill_conditioned")[0] != 0;
  const std::string reference = exact ? key.substr(0, key.size() - 2) + "64" : key;
  CAPTURE(reference);
  const double difference = testing::max_relative_difference(actual, testing::member(ref, reference));
  CAPTURE(difference);
  CHECK(difference <= tolerance);
  if (exact)
    MESSAGE(key << ": " << difference << " from the float64 result; PyTorch's float32 result is "
                << testing::max_relative_difference(actual, testing::member(ref, key)) << " from fergen's");
}

template <class T>
void compare_with_pytorch(const std::string& tag, double tolerance) {
  using B = cpu<T>;
  int cases = 0;
  for (const std::string& name : testing::reference_cases(fixture)) {
    if (name.rfind("gn_", 0) != 0) continue;
    ++cases;
    CAPTURE(name);
    const npz_archive ref = testing::load_reference(fixture, name);
    const bool affine = testing::values_of<std::int64_t>(ref, "affine")[0] != 0;
    nn::group_norm<B> gn(testing::values_of<std::int64_t>(ref, "groups")[0], testing::member(ref, "x").shape[1],
                         {.eps = testing::values_of<double>(ref, "eps")[0], .affine = affine});
    if (affine) {
      gn.weight()->value.copy_from(testing::values_of<T>(ref, "weight"));
      gn.bias()->value.copy_from(testing::values_of<T>(ref, "bias"));
    }
    const auto x = testing::to_tensor<T>(testing::member(ref, "x"));
    auto ctx = context<B>::train();
    const auto y = gn.forward(ctx, x);
    check_close(y, ref, "y" + tag, tolerance);
    check_close(gn.backward(ctx, testing::to_tensor<T>(testing::member(ref, "dy"))), ref, "dx" + tag, tolerance);
    if (affine) {
      check_close(gn.weight()->grad, ref, "dw" + tag, tolerance);
      check_close(gn.bias()->grad, ref, "db" + tag, tolerance);
    }
    // No batch statistics, no running ones: evaluation computes exactly what training does.
    auto eval = context<B>::eval();
    CHECK(xt::all(xt::equal(gn.forward(eval, x).xt(), y.xt())));
  }
  CHECK(cases >= 7);
}

}  // namespace

TEST_CASE("group_norm equals torch.nn.GroupNorm in float32 (incl. the UNet's 32 channels in 8 groups)") {
  compare_with_pytorch<float>("32", 1e-5);
}

TEST_CASE("group_norm equals torch.nn.GroupNorm in float64") { compare_with_pytorch<double>("64", 1e-12); }

TEST_CASE("group_norm gradients match finite differences") {
  using B = cpu<double>;
  struct gradient_case {
    std::string name;
    std::int64_t groups;
    shape input;
    nn::group_norm_options options;
  };
  const gradient_case cases[] = {
      {"groups = 1 (layer norm over C, H, W)", 1, {2, 6, 3, 3}, {}},
      {"groups = C (instance norm)", 4, {2, 4, 3, 2}, {}},
      {"groups in between", 3, {2, 6, 2, 3}, {}},
      {"UNet 32 channels in 8 groups", 8, {1, 32, 2, 2}, {}},
      {"1x1 spatial", 2, {3, 8, 1, 1}, {.eps = 1e-3}},
      {"no affine", 2, {2, 4, 3, 3}, {.affine = false}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    nn::group_norm<B> gn(c.groups, c.input.c, c.options);
    testing::randomize_parameters(gn, 19, 1.0);
    testing::check_gradients(gn, c.input);
    testing::check_gradients(gn, c.input, {.training = false, .seed = 2});
  }
}

TEST_CASE("group_norm results do not depend on the number of threads") {
  using B = cpu<float>;
  nn::group_norm<B> gn(8, 32);
  testing::randomize_parameters(gn, 5);
  const auto x = testing::random_tensor<float>({8, 32, 16, 16}, 6);
  const auto dy = testing::random_tensor<float>({8, 32, 16, 16}, 7);
  auto run = [&](int threads) {
    omp_set_num_threads(threads);
    auto ctx = context<B>::train();
    nn::zero_grad(gn);
    auto y = gn.forward(ctx, x);
    auto dx = gn.backward(ctx, dy);
    return std::tuple{y, dx, gn.weight()->grad.clone(), gn.bias()->grad.clone()};
  };
  const auto [y1, dx1, dw1, db1] = run(1);
  const auto [y2, dx2, dw2, db2] = run(2);
  omp_set_num_threads(1);
  // Every value is computed by one task in a fixed order: bitwise equal.
  CHECK(xt::all(xt::equal(y1.xt(), y2.xt())));
  CHECK(xt::all(xt::equal(dx1.xt(), dx2.xt())));
  CHECK(xt::all(xt::equal(dw1.xt(), dw2.xt())));
  CHECK(xt::all(xt::equal(db1.xt(), db2.xt())));
}

TEST_CASE("group_norm skips the gradient of a frozen weight") {
  using B = cpu<double>;
  nn::group_norm<B> gn(2, 4);
  testing::randomize_parameters(gn, 1);
  gn.weight()->frozen = true;
  auto ctx = context<B>::train();
  gn.forward(ctx, testing::random_tensor({2, 4, 3, 3}, 2));
  gn.backward(ctx, testing::random_tensor({2, 4, 3, 3}, 3));
  CHECK(xt::all(xt::equal(gn.weight()->grad.xt(), 0.0)));
  CHECK_FALSE(xt::all(xt::equal(gn.bias()->grad.xt(), 0.0)));
}

TEST_CASE("group_norm names its parameters as torch.nn.GroupNorm does") {
  using B = cpu<float>;
  nn::group_norm<B> gn(8, 32);
  std::vector<std::string> names;
  gn.visit_parameters([&](std::string_view name, auto&) { names.emplace_back(name); });
  CHECK(names == std::vector<std::string>{"weight", "bias"});
  CHECK(gn.weight()->dims == nn::dims{32});
  CHECK(gn.bias()->dims == nn::dims{32});
  CHECK(xt::all(xt::equal(gn.weight()->value.xt(), 1.0f)));
  CHECK(xt::all(xt::equal(gn.bias()->value.xt(), 0.0f)));
  CHECK(gn.weight()->init.a == 1.0);
  CHECK(gn.bias()->init.a == 0.0);
  nn::group_norm<B> plain(8, 32, {.affine = false});
  CHECK(nn::parameter_names(plain).empty());
}

TEST_CASE("group_norm reports bad input with the shapes involved") {
  using B = cpu<float>;
  SUBCASE("groups not dividing channels") {
    CHECK_THROWS_WITH_AS(nn::group_norm<B>(8, 30), doctest::Contains("30 channels do not divide into 8 groups"),
                         error);
    CHECK_THROWS_WITH_AS(nn::group_norm<B>(0, 32), doctest::Contains("0 groups of 32 channels"), error);
    CHECK_THROWS_WITH_AS(nn::group_norm<B>(2, 4, {.eps = -1e-5}), doctest::Contains("eps"), error);
  }
  nn::group_norm<B> gn(8, 32);
  auto ctx = context<B>::train();
  SUBCASE("wrong channel count") {
    CHECK_THROWS_WITH_AS(gn.forward(ctx, tensor<B>({2, 16, 4, 4})),
                         doctest::Contains("group_norm(8, 32): input [2, 16, 4, 4] has 16 channels, expected 32"),
                         error);
  }
  SUBCASE("backward without forward") {
    CHECK_THROWS_WITH_AS(gn.backward(ctx, tensor<B>({2, 32, 4, 4})), doctest::Contains("without a recorded forward"),
                         error);
  }
  SUBCASE("gradient of the wrong shape") {
    gn.forward(ctx, testing::random_tensor<float>({2, 32, 4, 4}, 1));
    CHECK_THROWS_WITH_AS(gn.backward(ctx, tensor<B>({1, 32, 4, 4})),
                         doctest::Contains("gradient [1, 32, 4, 4] does not match the output [2, 32, 4, 4]"), error);
  }
}
