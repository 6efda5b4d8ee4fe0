// Tests of data/color.hpp: BT.601 luma against its formula and against PIL 9.4's convert('L').
#include <fergen/core/rng.hpp>
#include <fergen/data/color.hpp>

#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

using namespace fergen;
using data::image;

namespace {

image rgb_image(std::int64_t h, std::int64_t w, std::uint64_t seed) {
  image img(3, h, w);
  const random_stream s{seed, 1};
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = 300.0f * s.uniform(i) - 20.0f;
  return img;
}

}  // namespace

TEST_CASE("to_grayscale is 0.299 R + 0.587 G + 0.114 B without rounding") {
  const image x = rgb_image(9, 14, 1);  // off-scale values too: the formula is linear, nothing clamps
  const image y = data::to_grayscale(x);
  REQUIRE(y.channels == 1);
  REQUIRE(y.height == 9);
  REQUIRE(y.width == 14);
  double worst = 0;
  for (std::int64_t i = 0; i < x.plane(); ++i) {
    const double expected = 0.299 * x.channel(0)[i] + 0.587 * x.channel(1)[i] + 0.114 * x.channel(2)[i];
    worst = std::max(worst, std::abs(y.channel(0)[i] - expected));
  }
  CHECK(worst <= 1e-4);  // float storage of values up to 280: a few ulps

  image one(3, 1, 1);
  one.pixels = {100.0f, 50.0f, 10.0f};
  CHECK(data::to_grayscale(one).pixels[0] == doctest::Approx(29.9 + 29.35 + 1.14).epsilon(1e-7));
  one.pixels = {1.0f, 1.0f, 1.0f};  // the weights sum to 1: gray stays gray
  CHECK(data::to_grayscale(one).pixels[0] == doctest::Approx(1.0).epsilon(1e-7));
}

TEST_CASE("to_grayscale is PIL's convert('L') within half a level") {
  // PIL rounds to integers (and uses 16-bit fixed-point weights 19595, 38470, 7471 / 65536, which differ
  // from BT.601's by at most 1.1e-5 each, i.e. 0.004 levels at 255), so ours is within 0.5 + 0.004.
  const auto ref = testing::load_reference("resize_reference", "grayscale");
  const auto& rgb = testing::member(ref, "rgb");
  image x(3, rgb.shape[1], rgb.shape[2]);
  x.pixels = rgb.values<float>();
  const std::vector<double> pil = testing::values_of<double>(ref, "l");
  const image y = data::to_grayscale(x);
  REQUIRE(y.pixels.size() == pil.size());
  const double fixed_point = 255.0 * (std::abs(19595.0 / 65536 - 0.299) + std::abs(38470.0 / 65536 - 0.587) +
                                      std::abs(7471.0 / 65536 - 0.114));
  double worst = 0;
  for (std::size_t i = 0; i < pil.size(); ++i) worst = std::max(worst, std::abs(y.pixels[i] - pil[i]));
  CAPTURE(worst);
  CHECK(worst <= 0.5 + fixed_point);
  // The corner colours black, white, red, green, blue: PIL gives 0, 255, 76, 150, 29.
  CHECK(pil[0] == 0);
  CHECK(y.pixels[0] == 0.0f);
  CHECK(y.pixels[1] == doctest::Approx(255.0).epsilon(1e-6));
  CHECK(std::abs(y.pixels[2] - 76.245) < 1e-4);
  CHECK(std::abs(y.pixels[3] - 149.685) < 1e-4);
  CHECK(std::abs(y.pixels[4] - 29.07) < 1e-4);
}

TEST_CASE("to_grayscale copies a gray image; to_rgb replicates it") {
  image g(1, 3, 4);
  for (std::size_t i = 0; i < g.pixels.size(); ++i) g.pixels[i] = static_cast<float>(i) * 7.5f;
  CHECK(data::to_grayscale(g) == g);
  const image c = data::to_rgb(g);
  REQUIRE(c.channels == 3);
  REQUIRE(c.height == 3);
  REQUIRE(c.width == 4);
  for (std::int64_t k = 0; k < 3; ++k)
    CHECK(std::vector<float>(c.channel(k), c.channel(k) + c.plane()) == g.pixels);
  CHECK(data::to_rgb(c) == c);
  // Gray -> RGB -> gray is the identity up to the rounding of 0.299 + 0.587 + 0.114 = 1 in double.
  const image back = data::to_grayscale(c);
  for (std::size_t i = 0; i < g.pixels.size(); ++i) CHECK(back.pixels[i] == doctest::Approx(g.pixels[i]));
}

TEST_CASE("colour conversions reject other channel counts and inconsistent images") {
  const image two(2, 3, 3);
  CHECK_THROWS_WITH_AS(data::to_grayscale(two), doctest::Contains("to_grayscale: image 2 x 3 x 3 has 2 channels"), error);
  CHECK_THROWS_WITH_AS(data::to_rgb(image(4, 2, 2)), doctest::Contains("to_rgb: image 4 x 2 x 2 has 4 channels"), error);
  image broken(3, 2, 2);
  broken.pixels.resize(5);
  CHECK_THROWS_WITH_AS(data::to_grayscale(broken), doctest::Contains("3 x 2 x 2 holds 5 values"), error);
  CHECK_THROWS_WITH_AS(data::to_rgb(image{}), doctest::Contains("to_rgb: image 0 x 0 x 0"), error);
  broken.width = -2;
  CHECK_THROWS_AS(data::to_grayscale(broken), error);
}
