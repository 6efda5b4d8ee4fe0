// Tests of nn/flatten.hpp.
#include <fergen/nn/flatten.hpp>

#include "support/gradient_check.hpp"

#include <doctest/doctest.h>

using namespace fergen;

TEST_CASE("flatten keeps each sample's values in channel-major order") {
  using B = cpu<float>;
  nn::flatten<B> flat;
  auto x = tensor<B>::uninitialized({2, 3, 2, 2});
  for (std::int64_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(i);
  auto ctx = context<B>::train();
  const auto y = flat.forward(ctx, x);
  CHECK(y.shape() == shape{2, 12, 1, 1});
  for (std::int64_t i = 0; i < y.size(); ++i) CHECK(y.data()[i] == static_cast<float>(i));
  CHECK(flat.backward(ctx, y).shape() == x.shape());
}

TEST_CASE("flatten gradients match finite differences") {
  nn::flatten<cpu<double>> flat;
  testing::check_gradients(flat, {2, 3, 2, 3});
}
