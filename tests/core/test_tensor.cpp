// Tests of the CPU tensor (backend/cpu/tensor.hpp), shapes (core/shape.hpp) and errors (core/error.hpp).
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/shape.hpp>

#include <doctest/doctest.h>

#include <vector>

using namespace fergen;
using T32 = tensor<cpu<float>>;

TEST_CASE("a tensor is zero-filled NCHW with row-major element order") {
  T32 t({2, 3, 4, 5});
  CHECK(t.shape() == shape{2, 3, 4, 5});
  CHECK(t.size() == 120);
  for (float v : t.values()) CHECK(v == 0.0f);
  t(1, 2, 3, 4) = 7.0f;
  CHECK(t.data()[((1 * 3 + 2) * 4 + 3) * 5 + 4] == 7.0f);
  CHECK(t.xt()(1, 2, 3, 4) == 7.0f);
  CHECK(T32().empty());
}

TEST_CASE("copies share storage, clone does not") {
  T32 a = T32::full({1, 1, 2, 2}, 1.0f);
  T32 b = a;
  b.fill(2.0f);
  CHECK(a.data()[0] == 2.0f);
  CHECK(a.shares_storage_with(b));
  T32 c = a.clone();
  c.fill(3.0f);
  CHECK(a.data()[0] == 2.0f);
  CHECK_FALSE(a.shares_storage_with(c));
}

TEST_CASE("host transfers and reshapes check sizes and name the shapes") {
  const std::vector<float> values{1, 2, 3, 4, 5, 6};
  T32 t = T32::from(values, {1, 2, 3, 1});
  std::vector<float> out(6);
  t.copy_to(out);
  CHECK(out == values);
  CHECK(t.reshaped({1, 6, 1, 1}).data()[5] == 6.0f);
  std::vector<float> small(5);
  CHECK_THROWS_WITH_AS(t.copy_to(small), doctest::Contains("destination holds 5 values, tensor [1, 2, 3, 1] has 6"),
                       error);
  CHECK_THROWS_WITH_AS(T32::from(small, {1, 2, 3, 1}), doctest::Contains("source holds 5 values"), error);
  CHECK_THROWS_WITH_AS(t.reshaped({1, 7, 1, 1}), doctest::Contains("cannot view [1, 2, 3, 1] (6 values) as [1, 7, 1, 1]"),
                       error);
  CHECK_THROWS_WITH_AS(T32({1, -1, 1, 1}), doctest::Contains("negative dimension in shape [1, -1, 1, 1]"), error);
}

TEST_CASE("errors accumulate the path of the layer they come from") {
  error e("conv2d: input [1, 2, 3, 3] has 2 channels, expected 3");
  e.add_context("conv1");
  e.add_context("");
  e.add_context("0");
  e.add_context("layer1");
  CHECK(std::string(e.what()) == "layer1.0.conv1: conv2d: input [1, 2, 3, 3] has 2 channels, expected 3");
  CHECK(e.where() == "layer1.0.conv1");
  CHECK(e.message() == "conv2d: input [1, 2, 3, 3] has 2 channels, expected 3");
  CHECK_THROWS_WITH_AS(require(false, "value ", 3, " is odd"), "value 3 is odd", error);
  CHECK_NOTHROW(require(true, "unused"));
}

TEST_CASE("size2 reads as one number or two") {
  const size2 square = 3, wide{1, 7};
  CHECK(square == size2{3, 3});
  CHECK(wide.h == 1);
  CHECK(wide.w == 7);
}
