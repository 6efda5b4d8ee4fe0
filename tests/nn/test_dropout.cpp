// Tests of nn/dropout.hpp and backend/cpu/dropout.hpp.
#include <fergen/nn/dropout.hpp>

#include "support/gradient_check.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace fergen;

TEST_CASE("dropout keeps 1 - p of the elements, scaled by 1 / (1 - p), reproducibly by seed") {
  using B = cpu<float>;
  nn::dropout<B> drop(0.3);
  const auto x = tensor<B>::full({4, 8, 16, 16}, 1.0f);
  auto ctx = context<B>::train(7);
  const auto y = drop.forward(ctx, x);
  std::int64_t kept = 0;
  for (float v : y.values()) {
    CHECK((v == 0.0f || v == doctest::Approx(1.0 / 0.7)));
    kept += v != 0.0f;
  }
  const double fraction = static_cast<double>(kept) / static_cast<double>(x.size());
  CHECK(std::abs(fraction - 0.7) < 0.02);  // 8192 Bernoulli draws: 5 standard deviations
  auto again = context<B>::train(7);
  CHECK(xt::all(xt::equal(drop.forward(again, x).xt(), y.xt())));
  auto other = context<B>::train(8);
  CHECK_FALSE(xt::all(xt::equal(drop.forward(other, x).xt(), y.xt())));
  // The next forward on the same context draws a new mask.
  CHECK_FALSE(xt::all(xt::equal(drop.forward(ctx, x).xt(), y.xt())));
}

TEST_CASE("dropout is the identity in evaluation and for p = 0; p = 1 drops everything") {
  using B = cpu<float>;
  const auto x = testing::random_tensor<float>({2, 3, 4, 4}, 1);
  auto eval = context<B>::eval();
  nn::dropout<B> drop(0.5);
  CHECK(drop.forward(eval, x).shares_storage_with(x));
  auto train = context<B>::train();
  nn::dropout<B> none(0.0);
  CHECK(none.forward(train, x).shares_storage_with(x));
  nn::dropout<B> all(1.0);
  CHECK(xt::all(xt::equal(all.forward(train, x).xt(), 0.0f)));
  CHECK_THROWS_WITH_AS(nn::dropout<B>(1.5), doctest::Contains("probability 1.5 is outside [0, 1]"), error);
}

TEST_CASE("dropout gradients match finite differences under a fixed mask") {
  nn::dropout<cpu<double>> drop(0.4);
  testing::check_gradients(drop, {2, 3, 5, 5});
}
