// Tests of data/resize.hpp against PyTorch 1.13 (F.interpolate in float64), PIL 9.4 (Image.resize BILINEAR
// on 8-bit images) and torchvision 0.14's center_crop (transcribed in tests/reference/resize_reference.py).
#include <fergen/core/rng.hpp>
#include <fergen/data/resize.hpp>

#include <omp.h>

#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

using namespace fergen;
using data::image;

namespace {

constexpr const char* fixture = "resize_reference";

// A (C, H, W) or (H, W) array as an image.
image image_of(const npy_array& a) {
  REQUIRE((a.shape.size() == 3 || a.shape.size() == 2));
  const bool planar = a.shape.size() == 3;
  image img(planar ? a.shape[0] : 1, a.shape[planar ? 1 : 0], a.shape[planar ? 2 : 1]);
  img.pixels = a.values<float>();
  return img;
}

// max |ours - reference| on the [0, 255] scale; infinite when the shapes differ.
double max_abs_difference(const image& ours, const npy_array& reference) {
  const image ref = image_of(reference);
  if (ours.channels != ref.channels || ours.height != ref.height || ours.width != ref.width)
    return std::numeric_limits<double>::infinity();
  const std::vector<double> r = reference.values<double>();
  double d = 0;
  for (std::size_t i = 0; i < r.size(); ++i) d = std::max(d, std::abs(static_cast<double>(ours.pixels[i]) - r[i]));
  return d;
}

std::vector<std::string> cases_with_prefix(const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& name : testing::reference_cases(fixture))
    if (name.starts_with(prefix)) out.push_back(name);
  REQUIRE_MESSAGE(!out.empty(), "no '", prefix, "' cases in ", fixture);
  return out;
}

// Runs f for each resize case with the input image and the target size.
template <class F>
void for_each_resize_case(F&& f) {
  for (const auto& name : cases_with_prefix("resize_")) {
    CAPTURE(name);
    const auto ref = testing::load_reference(fixture, name);
    const std::vector<std::int64_t> size = testing::values_of<std::int64_t>(ref, "size");
    f(ref, image_of(testing::member(ref, "x")), size[0], size[1]);
  }
}

image random_image(std::int64_t c, std::int64_t h, std::int64_t w, std::uint64_t seed) {
  image img(c, h, w);
  const random_stream s{seed, 1};
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = 255.0f * s.uniform(i);
  return img;
}

}  // namespace

TEST_CASE("resize_bilinear with antialias equals torch interpolate(bilinear, antialias=True) in float64") {
  // 48 -> 160 (the study's backbone input), 160 -> 48, 480x640 -> 48x48, non-square mixes, 1-pixel targets.
  for_each_resize_case([](const npz_archive& ref, const image& x, std::int64_t h, std::int64_t w) {
    CHECK(max_abs_difference(data::resize_bilinear(x, h, w), testing::member(ref, "bilinear_aa")) <= 1e-4);
    CHECK(max_abs_difference(data::resize_bilinear(x, h, w, true), testing::member(ref, "bilinear_aa")) <= 1e-4);
  });
}

TEST_CASE("resize_bilinear without antialias equals torch interpolate(bilinear, antialias=False) in float64") {
  for_each_resize_case([](const npz_archive& ref, const image& x, std::int64_t h, std::int64_t w) {
    CHECK(max_abs_difference(data::resize_bilinear(x, h, w, false), testing::member(ref, "bilinear")) <= 1e-4);
  });
}

TEST_CASE("resize_nearest equals torch interpolate(nearest)") {
  // The values are copies of input pixels: a wrong source index shows as a difference of many gray levels.
  for_each_resize_case([](const npz_archive& ref, const image& x, std::int64_t h, std::int64_t w) {
    CHECK(max_abs_difference(data::resize_nearest(x, h, w), testing::member(ref, "nearest")) <= 1e-4);
  });
}

TEST_CASE("resize_nearest uses torch's float index arithmetic, not the exact quotient") {
  // Output column 41 of 2 -> 82: torch computes floor(41 * float(2 / 82)) = 0 in float, while 41 * 2 // 82
  // is 1. The fixture's float_index case checks the same against torch itself.
  image x(1, 1, 2);
  x.pixels = {10.0f, 20.0f};
  const image y = data::resize_nearest(x, 1, 82);
  CHECK(y.pixels[41] == 10.0f);
  CHECK(y.pixels[42] == 20.0f);
  CHECK(std::count(y.pixels.begin(), y.pixels.end(), 10.0f) == 42);
}

TEST_CASE("resize_bilinear with antialias is PIL's BILINEAR within one gray level on 8-bit images") {
  // PIL computes in fixed point and rounds to uint8 after the horizontal pass and again at the end; those two
  // roundings bound its distance from the exact filter by 1 level. Ours is the exact filter in float.
  for (const auto& name : cases_with_prefix("pil_resize_")) {
    CAPTURE(name);
    const auto ref = testing::load_reference(fixture, name);
    const auto& y = testing::member(ref, "y");
    const image out = data::resize_bilinear(image_of(testing::member(ref, "x")), y.shape[0], y.shape[1]);
    const double d = max_abs_difference(out, y);
    CAPTURE(d);
    CHECK(d <= 1.0);
  }
}

TEST_CASE("resizing keeps a constant image constant and stays within the input's range") {
  image flat(2, 13, 17, 87.25f);
  for (const auto& size : {std::pair{1, 1}, {5, 40}, {13, 17}, {100, 3}, {64, 64}}) {
    const int h = size.first, w = size.second;  // not a structured binding: CAPTURE's lambda needs a variable
    CAPTURE(h);
    CAPTURE(w);
    for (const image& y : {data::resize_bilinear(flat, h, w), data::resize_bilinear(flat, h, w, false),
                           data::resize_nearest(flat, h, w)}) {
      REQUIRE(y.size() == 2 * h * w);
      for (const float v : y.pixels) REQUIRE(v == doctest::Approx(87.25).epsilon(1e-6));
    }
  }
  const image x = random_image(3, 30, 41, 5);
  const auto [lo, hi] = std::minmax_element(x.pixels.begin(), x.pixels.end());
  for (const image& y : {data::resize_bilinear(x, 7, 90), data::resize_bilinear(x, 61, 9, false)})
    for (const float v : y.pixels) REQUIRE((v >= *lo && v <= *hi));
}

TEST_CASE("resizing to the same size returns the image unchanged") {
  const image x = random_image(3, 21, 34, 6);
  CHECK(data::resize_bilinear(x, 21, 34) == x);
  CHECK(data::resize_bilinear(x, 21, 34, false) == x);
  CHECK(data::resize_nearest(x, 21, 34) == x);
}

TEST_CASE("resize results do not depend on the number of threads") {
  const image x = random_image(3, 480, 640, 7);
  auto once = [&](int threads) {
    omp_set_num_threads(threads);
    return std::vector<image>{data::resize_bilinear(x, 48, 48), data::resize_bilinear(x, 160, 160),
                              data::resize_bilinear(x, 97, 1000, false), data::resize_nearest(x, 200, 300)};
  };
  const auto one = once(1);
  const auto two = once(2);
  omp_set_num_threads(1);
  for (std::size_t i = 0; i < one.size(); ++i) CHECK(one[i] == two[i]);
}

TEST_CASE("center_crop equals torchvision's center_crop, zero padding included") {
  // Covers Python's round-half-to-even offsets (5 -> 2 starts at 2, 7 -> 2 starts at 2, 9 -> 2 at 4), crops
  // larger than the image in one or both dimensions, and the identity.
  for (const auto& name : cases_with_prefix("crop_")) {
    CAPTURE(name);
    const auto ref = testing::load_reference(fixture, name);
    const std::vector<std::int64_t> size = testing::values_of<std::int64_t>(ref, "size");
    const image y = data::center_crop(image_of(testing::member(ref, "x")), size[0], size[1]);
    // A crop copies values: equal to the reference rounded to float, bit for bit.
    CHECK(y == image_of(testing::member(ref, "y")));
  }
}

TEST_CASE("center_crop offsets, spelled out") {
  image x(1, 1, 9);
  for (std::int64_t i = 0; i < 9; ++i) x.pixels[static_cast<std::size_t>(i)] = static_cast<float>(i + 1);
  CHECK(data::center_crop(x, 1, 2).pixels == std::vector<float>{5, 6});  // round(3.5) = 4
  CHECK(data::center_crop(x, 1, 4).pixels == std::vector<float>{3, 4, 5, 6});  // round(2.5) = 2
  CHECK(data::center_crop(x, 1, 6).pixels == std::vector<float>{3, 4, 5, 6, 7, 8});  // round(1.5) = 2
  CHECK(data::center_crop(x, 1, 12).pixels == std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0});
  CHECK(data::center_crop(x, 2, 9).pixels == std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0});
}

TEST_CASE("resize and center_crop reject bad sizes and inconsistent images, naming them") {
  const image x = random_image(1, 8, 8, 9);
  CHECK_THROWS_WITH_AS(data::resize_bilinear(x, 0, 5), doctest::Contains("resize_bilinear: target size 0 x 5"), error);
  CHECK_THROWS_WITH_AS(data::resize_bilinear(x, 5, -1, false), doctest::Contains("target size 5 x -1"), error);
  CHECK_THROWS_WITH_AS(data::resize_nearest(x, -3, 2), doctest::Contains("resize_nearest: target size -3 x 2"), error);
  CHECK_THROWS_WITH_AS(data::center_crop(x, 4, 0), doctest::Contains("center_crop: target size 4 x 0"), error);
  constexpr std::int64_t huge = std::int64_t{1} << 40;
  CHECK_THROWS_WITH_AS(data::resize_bilinear(x, huge, huge), doctest::Contains("more values than fit in memory"), error);
  CHECK_THROWS_WITH_AS(data::center_crop(x, huge, huge), doctest::Contains("more values than fit in memory"), error);

  image broken = x;
  broken.pixels.pop_back();
  CHECK_THROWS_WITH_AS(data::resize_bilinear(broken, 4, 4), doctest::Contains("1 x 8 x 8 holds 63 values"), error);
  CHECK_THROWS_WITH_AS(data::resize_nearest(broken, 4, 4), doctest::Contains("resize_nearest"), error);
  CHECK_THROWS_WITH_AS(data::center_crop(broken, 4, 4), doctest::Contains("center_crop"), error);
  CHECK_THROWS_WITH_AS(data::resize_bilinear(image{}, 4, 4), doctest::Contains("0 x 0 x 0 holds 0 values"), error);
  image overflowing;
  overflowing.channels = 3;
  overflowing.height = std::int64_t{1} << 40;
  overflowing.width = std::int64_t{1} << 40;
  CHECK_THROWS_AS(data::resize_nearest(overflowing, 2, 2), error);
}
