// Tests of optim/lr_schedule.hpp.
#include <fergen/optim/lr_schedule.hpp>
#include <fergen/optim/sgd.hpp>

#include "optim/optim_test_support.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

using namespace fergen;

static_assert(optim::lr_schedule<optim::constant_lr>);
static_assert(optim::lr_schedule<optim::step_lr>);
static_assert(optim::lr_schedule<optim::cosine_lr>);
static_assert(optim::lr_schedule<optim::linear_warmup<optim::cosine_lr>>);

namespace {

constexpr double base_lr = 0.1;  // optim_reference.py's

// Every value of the schedule over steps 0..n equals torch's get_last_lr() after that many scheduler steps.
template <class S>
void compare_with_pytorch(const S& schedule, const std::string& key) {
  CAPTURE(key);
  const npz_archive ref = testing::load_reference("optim_reference", "schedules");
  const auto expected = testing::values_of<double>(ref, key);
  REQUIRE(expected.size() > 1);
  for (std::size_t k = 0; k < expected.size(); ++k) {
    CAPTURE(k);
    CHECK(std::abs(schedule(static_cast<std::int64_t>(k), base_lr) - expected[k]) <= 1e-12 * base_lr);
  }
}

}  // namespace

TEST_CASE("step_lr equals torch's StepLR") {
  compare_with_pytorch(optim::step_lr{.step_size = 3, .gamma = 0.5}, "step_lr");
}

TEST_CASE("cosine_lr equals torch's CosineAnnealingLR up to total_steps, then stays at min_lr") {
  const optim::cosine_lr cosine{.total_steps = 10, .min_lr = 1e-3};
  compare_with_pytorch(cosine, "cosine_lr");
  compare_with_pytorch(optim::cosine_lr{.total_steps = 7}, "cosine_lr_to_zero");
  for (const std::int64_t step : {10, 11, 15, 1000}) CHECK(cosine(step, base_lr) == 1e-3);
}

TEST_CASE("linear_warmup equals torch's SequentialLR of LinearLR and the inner schedule") {
  compare_with_pytorch(optim::linear_warmup<>{.warmup_steps = 4}, "warmup_constant");
  compare_with_pytorch(optim::linear_warmup<optim::cosine_lr>{.warmup_steps = 4, .inner = {.total_steps = 8, .min_lr = 1e-3}},
                       "warmup_cosine");
  compare_with_pytorch(optim::linear_warmup<optim::step_lr>{.warmup_steps = 4, .inner = {.step_size = 3, .gamma = 0.5}},
                       "warmup_step");
}

TEST_CASE("linear_warmup follows its formula") {
  const optim::linear_warmup<optim::cosine_lr> schedule{.warmup_steps = 5, .inner = {.total_steps = 20}};
  for (std::int64_t step = 0; step < 30; ++step) {
    CAPTURE(step);
    const double expected =
        step < 5 ? 0.3 * static_cast<double>(step + 1) / 5
                 : 0.3 * (1 + std::cos(std::numbers::pi * static_cast<double>(std::min<std::int64_t>(step - 5, 20)) / 20)) / 2;
    CHECK(schedule(step, 0.3) == doctest::Approx(expected).epsilon(1e-15));
  }
  const optim::linear_warmup<> one{.warmup_steps = 1};
  CHECK(one(0, 0.3) == 0.3);
  CHECK(one(5, 0.3) == 0.3);
  CHECK(optim::constant_lr{}(7, 0.3) == 0.3);
}

TEST_CASE("a schedule drives an optimiser through set_lr") {
  const auto pr = testing::load_problem<double>();
  auto net = testing::network_from(pr);
  auto ctx = context<cpu<double>>::train();
  optim::sgd<cpu<double>> opt({.lr = 0.2});
  const optim::step_lr schedule{.step_size = 2, .gamma = 0.5};
  std::vector<double> used;
  for (std::size_t k = 0; k < pr.steps(); ++k) {
    opt.set_lr(schedule(opt.steps(), 0.2));
    used.push_back(opt.lr());
    testing::set_gradients(net, pr, k);
    opt.step(ctx, net);
  }
  CHECK(used == std::vector<double>{0.2, 0.2, 0.1, 0.1, 0.05, 0.05});
}

TEST_CASE("schedules reject invalid options, naming the option") {
  CHECK_THROWS_WITH_AS(optim::step_lr{}(0, base_lr), doctest::Contains("step_lr: step_size = 0 must be > 0"), error);
  CHECK_THROWS_WITH_AS((optim::step_lr{.step_size = 2, .gamma = std::nan("")}(0, base_lr)),
                       doctest::Contains("step_lr: gamma = nan"), error);
  CHECK_THROWS_WITH_AS(optim::cosine_lr{}(0, base_lr), doctest::Contains("cosine_lr: total_steps = 0 must be > 0"), error);
  CHECK_THROWS_WITH_AS((optim::cosine_lr{.total_steps = 5, .min_lr = -1}(0, base_lr)),
                       doctest::Contains("cosine_lr: min_lr = -1"), error);
  CHECK_THROWS_WITH_AS(optim::linear_warmup<>{}(0, base_lr), doctest::Contains("linear_warmup: warmup_steps = 0 must be > 0"),
                       error);
  CHECK_THROWS_WITH_AS((optim::linear_warmup<optim::cosine_lr>{.warmup_steps = 2}(0, base_lr)),
                       doctest::Contains("cosine_lr: total_steps = 0"), error);
  CHECK_THROWS_WITH_AS((optim::step_lr{.step_size = 3}(-1, base_lr)), doctest::Contains("step_lr: step -1 is negative"),
                       error);
  CHECK_THROWS_WITH_AS(optim::constant_lr{}(-2, base_lr), doctest::Contains("constant_lr: step -2 is negative"), error);
}
