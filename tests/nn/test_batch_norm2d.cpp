// Tests of nn/batch_norm2d.hpp and the CPU kernel backend/cpu/batch_norm.hpp.
#include <fergen/nn/batch_norm2d.hpp>
#include <fergen/nn/parameters.hpp>

#include <omp.h>
#include <xtensor/xoperation.hpp>

#include "support/gradient_check.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

using namespace fergen;

namespace {

constexpr const char* fixture = "norm_reference";

template <class T>
nn::batch_norm2d<cpu<T>> batch_norm_from_reference(const npz_archive& ref) {
  const double momentum = testing::values_of<double>(ref, "momentum")[0];
  const bool affine = testing::values_of<std::int64_t>(ref, "affine")[0] != 0;
  nn::batch_norm2d<cpu<T>> bn(testing::member(ref, "x1").shape[1],
                              {.eps = testing::values_of<double>(ref, "eps")[0],
                               .momentum = std::isnan(momentum) ? std::nullopt : std::optional<double>(momentum),
                               .affine = affine,
                               .track_running_stats = testing::values_of<std::int64_t>(ref, "track")[0] != 0});
  if (affine) {
    bn.weight()->value.copy_from(testing::values_of<T>(ref, "weight"));
    bn.bias()->value.copy_from(testing::values_of<T>(ref, "bias"));
  }
  return bn;
}

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

// One module through PyTorch's sequence: a training step (forward on x1, backward), two more training
// forwards, then an evaluation forward and backward; every output, gradient and buffer compared.
template <class T>
void compare_with_pytorch(const std::string& tag, double tolerance) {
  using B = cpu<T>;
  int cases = 0;
  for (const std::string& name : testing::reference_cases(fixture)) {
    if (name.rfind("bn_", 0) != 0) continue;
    ++cases;
    CAPTURE(name);
    const npz_archive ref = testing::load_reference(fixture, name);
    auto bn = batch_norm_from_reference<T>(ref);
    auto x = [&](const std::string& key) { return testing::to_tensor<T>(testing::member(ref, key)); };

    auto ctx = context<B>::train();
    check_close(bn.forward(ctx, x("x1")), ref, "y" + tag, tolerance);
    check_close(bn.backward(ctx, x("dy")), ref, "dx" + tag, tolerance);
    if (bn.weight()) {
      check_close(bn.weight()->grad, ref, "dw" + tag, tolerance);
      check_close(bn.bias()->grad, ref, "db" + tag, tolerance);
    }

    auto step = context<B>::train();
    step.record = false;
    bn.forward(step, x("x2"));
    bn.forward(step, x("x3"));
    auto check_buffers = [&] {
      if (!bn.running_mean()) return;
      check_close(bn.running_mean()->value, ref, "running_mean" + tag, tolerance);
      check_close(bn.running_var()->value, ref, "running_var" + tag, tolerance);
      CHECK(bn.num_batches_tracked()->value.data()[0] ==
            static_cast<T>(testing::values_of<std::int64_t>(ref, "num_batches_tracked" + tag)[0]));
    };
    check_buffers();

    nn::zero_grad(bn);
    auto eval = context<B>::eval();
    eval.record = true;  // backward through a layer kept in evaluation mode, as when fine-tuning
    check_close(bn.forward(eval, x("x_eval")), ref, "y_eval" + tag, tolerance);
    check_close(bn.backward(eval, x("dy_eval")), ref, "dx_eval" + tag, tolerance);
    if (bn.weight()) {
      check_close(bn.weight()->grad, ref, "dw_eval" + tag, tolerance);
      check_close(bn.bias()->grad, ref, "db_eval" + tag, tolerance);
    }
    check_buffers();  // evaluation leaves the running statistics alone
  }
  CHECK(cases >= 8);
}

}  // namespace

TEST_CASE("batch_norm2d equals torch.nn.BatchNorm2d in float32 (train, running statistics, eval)") {
  compare_with_pytorch<float>("32", 1e-5);
}

TEST_CASE("batch_norm2d equals torch.nn.BatchNorm2d in float64") { compare_with_pytorch<double>("64", 1e-12); }

TEST_CASE("batch_norm2d gradients in training mode match finite differences") {
  using B = cpu<double>;
  struct training_case {
    std::string name;
    shape input;
    nn::batch_norm_options options;
  };
  const training_case cases[] = {
      {"feature map", {2, 3, 4, 5}, {}},
      {"linear features [N, C, 1, 1]", {6, 4, 1, 1}, {}},
      {"one sample", {1, 3, 2, 3}, {}},
      {"Inception eps, cumulative average", {3, 2, 3, 3}, {.eps = 1e-3, .momentum = std::nullopt}},
      {"no affine", {2, 3, 3, 3}, {.affine = false}},
      {"no running statistics", {2, 2, 3, 2}, {.track_running_stats = false}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    nn::batch_norm2d<B> bn(c.input.c, c.options);
    testing::randomize_parameters(bn, 23, 1.0);
    testing::check_gradients(bn, c.input);
  }
}

TEST_CASE("batch_norm2d gradients in evaluation mode match finite differences") {
  using B = cpu<double>;
  SUBCASE("running statistics") {
    nn::batch_norm2d<B> bn(4);
    testing::randomize_parameters(bn, 29, 1.0);
    const auto mean = testing::random_tensor({4, 1, 1, 1}, 31);
    const auto spread = testing::random_tensor({4, 1, 1, 1}, 37);
    for (std::int64_t c = 0; c < 4; ++c) {
      bn.running_mean()->value.data()[c] = mean.data()[c];
      bn.running_var()->value.data()[c] = 0.2 + spread.data()[c] * spread.data()[c];
    }
    testing::check_gradients(bn, {3, 4, 3, 2}, {.training = false});
    testing::check_gradients(bn, {1, 4, 1, 1}, {.training = false});  // one value per channel is fine here
  }
  SUBCASE("without running statistics the batch statistics are used, as in training") {
    nn::batch_norm2d<B> bn(3, {.track_running_stats = false});
    testing::randomize_parameters(bn, 41, 1.0);
    testing::check_gradients(bn, {2, 3, 2, 2}, {.training = false});
  }
}

TEST_CASE("batch_norm2d running statistics follow PyTorch's update rules") {
  using B = cpu<double>;
  const auto x1 = testing::random_tensor({2, 1, 2, 2}, 3, 2.0);
  const auto x2 = testing::random_tensor({2, 1, 2, 2}, 4, 0.5);
  auto stats = [](const tensor<B>& x) {
    double mean = 0, sq = 0;
    for (auto v : x.values()) mean += v;
    mean /= 8;
    for (auto v : x.values()) sq += (v - mean) * (v - mean);
    return std::pair{mean, sq / 7};  // unbiased
  };
  const auto [m1, v1] = stats(x1);
  const auto [m2, v2] = stats(x2);
  auto ctx = context<B>::train();
  SUBCASE("momentum") {
    nn::batch_norm2d<B> bn(1, {.momentum = 0.25});
    bn.forward(ctx, x1);
    bn.forward(ctx, x2);
    CHECK(bn.running_mean()->value.data()[0] == doctest::Approx(0.75 * (0.75 * 0 + 0.25 * m1) + 0.25 * m2));
    CHECK(bn.running_var()->value.data()[0] == doctest::Approx(0.75 * (0.75 * 1 + 0.25 * v1) + 0.25 * v2));
    CHECK(bn.num_batches_tracked()->value.data()[0] == 2);
  }
  SUBCASE("cumulative moving average (momentum None)") {
    nn::batch_norm2d<B> bn(1, {.momentum = std::nullopt});
    bn.forward(ctx, x1);
    bn.forward(ctx, x2);
    CHECK(bn.running_mean()->value.data()[0] == doctest::Approx((m1 + m2) / 2));
    CHECK(bn.running_var()->value.data()[0] == doctest::Approx((v1 + v2) / 2));
    CHECK(bn.num_batches_tracked()->value.data()[0] == 2);
  }
}

TEST_CASE("batch_norm2d results do not depend on the number of threads") {
  using B = cpu<float>;
  nn::batch_norm2d<B> bn(64);
  testing::randomize_parameters(bn, 5);
  const auto x = testing::random_tensor<float>({4, 64, 32, 32}, 6);
  const auto dy = testing::random_tensor<float>({4, 64, 32, 32}, 7);
  auto run = [&](int threads) {
    omp_set_num_threads(threads);
    auto ctx = context<B>::train();
    nn::zero_grad(bn);
    auto y = bn.forward(ctx, x);
    auto dx = bn.backward(ctx, dy);
    return std::tuple{y, dx, bn.weight()->grad.clone(), bn.running_var()->value.clone()};
  };
  const auto [y1, dx1, dw1, rv1] = run(1);
  const auto [y2, dx2, dw2, rv2] = run(2);
  omp_set_num_threads(1);
  // One channel is one task whatever the thread count: the results are bitwise equal.
  CHECK(xt::all(xt::equal(y1.xt(), y2.xt())));
  CHECK(xt::all(xt::equal(dx1.xt(), dx2.xt())));
  CHECK(xt::all(xt::equal(dw1.xt(), dw2.xt())));
  CHECK_FALSE(xt::all(xt::equal(rv1.xt(), rv2.xt())));  // the second run moved the average on
}

TEST_CASE("batch_norm2d skips the gradient of a frozen weight") {
  using B = cpu<double>;
  nn::batch_norm2d<B> bn(3);
  testing::randomize_parameters(bn, 1);
  bn.weight()->frozen = true;
  auto ctx = context<B>::train();
  bn.forward(ctx, testing::random_tensor({2, 3, 4, 4}, 2));
  bn.backward(ctx, testing::random_tensor({2, 3, 4, 4}, 3));
  CHECK(xt::all(xt::equal(bn.weight()->grad.xt(), 0.0)));
  CHECK_FALSE(xt::all(xt::equal(bn.bias()->grad.xt(), 0.0)));
}

TEST_CASE("batch_norm2d names its parameters and buffers as torch.nn.BatchNorm2d does") {
  using B = cpu<float>;
  auto visited = [](auto& layer) {
    std::vector<std::string> names;
    layer.visit_parameters([&](std::string_view name, auto&) { names.emplace_back(name); });
    return names;
  };
  SUBCASE("affine, tracking") {
    nn::batch_norm2d<B> bn(16);
    CHECK(visited(bn) ==
          std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"});
    CHECK(nn::parameter_names(bn) == std::vector<std::string>{"weight", "bias"});
    CHECK(bn.weight()->dims == nn::dims{16});
    CHECK(bn.bias()->dims == nn::dims{16});
    CHECK(bn.running_mean()->dims == nn::dims{16});
    CHECK(bn.running_var()->dims == nn::dims{16});
    CHECK(bn.num_batches_tracked()->dims == nn::dims{});
    CHECK(bn.num_batches_tracked()->dims.extents.empty());
    CHECK(bn.num_batches_tracked()->integral);
    CHECK_FALSE(bn.running_mean()->integral);
    CHECK_FALSE(bn.running_var()->integral);
    // PyTorch's initial values, before and after nn::initialize.
    CHECK(xt::all(xt::equal(bn.weight()->value.xt(), 1.0f)));
    CHECK(xt::all(xt::equal(bn.bias()->value.xt(), 0.0f)));
    CHECK(xt::all(xt::equal(bn.running_mean()->value.xt(), 0.0f)));
    CHECK(xt::all(xt::equal(bn.running_var()->value.xt(), 1.0f)));
    CHECK(bn.num_batches_tracked()->value.data()[0] == 0.0f);
    CHECK(bn.weight()->init.distribution == nn::init_rule::kind::constant);
    CHECK(bn.weight()->init.a == 1.0);
    CHECK(bn.bias()->init.distribution == nn::init_rule::kind::constant);
    CHECK(bn.bias()->init.a == 0.0);
  }
  SUBCASE("affine = false keeps the buffers only") {
    nn::batch_norm2d<B> bn(4, {.affine = false});
    CHECK(visited(bn) == std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"});
    CHECK(bn.weight() == nullptr);
  }
  SUBCASE("track_running_stats = false keeps the parameters only") {
    nn::batch_norm2d<B> bn(4, {.track_running_stats = false});
    CHECK(visited(bn) == std::vector<std::string>{"weight", "bias"});
    CHECK(bn.running_mean() == nullptr);
  }
}

TEST_CASE("batch_norm2d reports bad input with the shapes involved") {
  using B = cpu<float>;
  nn::batch_norm2d<B> bn(3);
  auto ctx = context<B>::train();
  SUBCASE("wrong channel count") {
    CHECK_THROWS_WITH_AS(bn.forward(ctx, tensor<B>({2, 4, 5, 5})),
                         doctest::Contains("batch_norm2d(3): input [2, 4, 5, 5] has 4 channels, expected 3"), error);
  }
  SUBCASE("one value per channel in training mode") {
    CHECK_THROWS_WITH_AS(bn.forward(ctx, tensor<B>::full({1, 3, 1, 1}, 1.0f)),
                         doctest::Contains("more than 1 value per channel when training, input [1, 3, 1, 1]"), error);
    // Nothing was counted or averaged.
    CHECK(bn.num_batches_tracked()->value.data()[0] == 0.0f);
    CHECK(xt::all(xt::equal(bn.running_var()->value.xt(), 1.0f)));
    auto eval = context<B>::eval();
    CHECK(bn.forward(eval, tensor<B>::full({1, 3, 1, 1}, 1.0f)).shape() == shape{1, 3, 1, 1});
  }
  SUBCASE("backward without forward") {
    CHECK_THROWS_WITH_AS(bn.backward(ctx, tensor<B>({2, 3, 5, 5})), doctest::Contains("without a recorded forward"),
                         error);
    ctx.record = false;
    bn.forward(ctx, tensor<B>({2, 3, 5, 5}));
    CHECK_THROWS_WITH_AS(bn.backward(ctx, tensor<B>({2, 3, 5, 5})), doctest::Contains("without a recorded forward"),
                         error);
  }
  SUBCASE("gradient of the wrong shape") {
    bn.forward(ctx, testing::random_tensor<float>({2, 3, 5, 5}, 1));
    CHECK_THROWS_WITH_AS(bn.backward(ctx, tensor<B>({2, 3, 4, 5})),
                         doctest::Contains("gradient [2, 3, 4, 5] does not match the output [2, 3, 5, 5]"), error);
  }
  SUBCASE("invalid options") {
    CHECK_THROWS_WITH_AS(nn::batch_norm2d<B>(0), doctest::Contains("channels must be positive, got 0"), error);
    CHECK_THROWS_WITH_AS(nn::batch_norm2d<B>(3, {.eps = -1}), doctest::Contains("eps"), error);
    CHECK_THROWS_WITH_AS(nn::batch_norm2d<B>(3, {.momentum = 0.99 + 1}), doctest::Contains("momentum"), error);
  }
}
