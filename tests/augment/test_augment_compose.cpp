// Tests of augment/compose.hpp, augment/study.hpp, augment::none and augment::apply's stage order.
#include <fergen/augment/affine.hpp>
#include <fergen/augment/compose.hpp>
#include <fergen/augment/policies.hpp>
#include <fergen/augment/policy.hpp>
#include <fergen/augment/study.hpp>
#include <fergen/augment/transform.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

using namespace fergen;
using namespace fergen::augment;

namespace {

data::image test_picture(std::int64_t c, std::int64_t h, std::int64_t w) {
  data::image img(c, h, w);
  for (std::int64_t k = 0; k < c; ++k)
    for (std::int64_t r = 0; r < h; ++r)
      for (std::int64_t x = 0; x < w; ++x)
        img.at(k, r, x) = static_cast<float>((37 * r + 11 * x * x + 71 * k + r * x) % 256);
  return img;
}

data::image flip_columns(const data::image& img) {
  data::image out = img;
  for (std::int64_t k = 0; k < img.channels; ++k)
    for (std::int64_t r = 0; r < img.height; ++r)
      for (std::int64_t x = 0; x < img.width; ++x) out.at(k, r, x) = img.at(k, r, img.width - 1 - x);
  return out;
}

data::image flip_rows(const data::image& img) {
  data::image out = img;
  for (std::int64_t k = 0; k < img.channels; ++k)
    for (std::int64_t r = 0; r < img.height; ++r)
      for (std::int64_t x = 0; x < img.width; ++x) out.at(k, r, x) = img.at(k, img.height - 1 - r, x);
  return out;
}

}  // namespace

TEST_CASE("compose draws and applies the same whatever order its options are listed in") {
  const compose<brightness, rotation> br{brightness{0.7, 1.3}, rotation{20}};
  const compose<rotation, brightness> rb{rotation{20}, brightness{0.7, 1.3}};
  const compose<rescale, fill, horizontal_flip, shift, zoom, vertical_flip, brightness, rotation> reversed{
      rescale{0.5}, fill{fill_mode::reflect, 0}, horizontal_flip{}, shift{.height = 0.1, .width = 3},
      zoom::range(0.2), vertical_flip{}, brightness{0.7, 1.3}, rotation{20}};
  const compose<rotation, zoom, shift, horizontal_flip, vertical_flip, brightness, fill, rescale> keras_order{
      rotation{20}, zoom::range(0.2), shift{.height = 0.1, .width = 3}, horizontal_flip{}, vertical_flip{},
      brightness{0.7, 1.3}, fill{fill_mode::reflect, 0}, rescale{0.5}};
  const data::image img = test_picture(3, 24, 30);
  generator g1(11), g2(11), g3(11), g4(11);
  for (int i = 0; i < 40; ++i) {
    const transform a = br.sample(g1, 24, 30), b = rb.sample(g2, 24, 30);
    REQUIRE(a == b);
    CHECK(br.apply(img, a) == rb.apply(img, b));
    const transform c = reversed.sample(g3, 24, 30), d = keras_order.sample(g4, 24, 30);
    REQUIRE(c == d);
    CHECK(reversed.apply(img, c) == keras_order.apply(img, d));
  }
}

TEST_CASE("the stages run in Keras' order: one warp, horizontal flip, vertical flip, brightness, rescale") {
  const data::image img = test_picture(2, 17, 23);
  transform t;
  t.rotation = 9;
  t.shift_cols = 3;
  t.flip_h = true;
  t.flip_v = true;
  t.brightness = 1.7;  // saturates part of the image
  t.rescale = 1.0 / 255;
  t.fill = fill_mode::constant;
  t.cval = 40;
  // By hand, stage after stage.
  data::image expected = flip_rows(flip_columns(warp_affine(img, keras_matrix(t, 17, 23), t.fill, t.cval)));
  int clipped = 0;
  for (float& v : expected.pixels) {
    const double bright = static_cast<double>(v) * 1.7;
    clipped += bright > 255;
    v = static_cast<float>(std::clamp(bright, 0.0, 255.0));
    v = static_cast<float>(static_cast<double>(v) * (1.0 / 255));
  }
  CHECK(clipped > 0);
  CHECK(apply(img, t) == expected);
  CHECK(*std::max_element(expected.pixels.begin(), expected.pixels.end()) <= 1.0f);

  // The flip follows the warp: flipping first would move the shift to the other side.
  transform shifted;
  shifted.shift_cols = 3;
  shifted.flip_h = true;
  transform shift_only = shifted;
  shift_only.flip_h = false;
  CHECK(apply(img, shifted) == flip_columns(apply(img, shift_only)));
  CHECK(apply(img, shifted) != apply(flip_columns(img), shift_only));
}

TEST_CASE("identity parameters give the input back exactly: the warp is skipped, even under 'constant'") {
  // Values a warp would change if it ran: a constant fill of 0 would show on every border.
  data::image img = test_picture(3, 9, 13);
  img.at(0, 0, 0) = 1e-30f;
  img.at(1, 8, 12) = 254.99998f;
  transform t;
  t.fill = fill_mode::constant;
  t.cval = 0;
  CHECK(!has_geometry(t));
  CHECK(apply(img, t) == img);
  const compose<rotation, shift, zoom, brightness, fill> neutral{rotation{0}, shift{}, zoom{1, 1}, brightness{1, 1},
                                                                 fill{fill_mode::wrap, 5}};
  generator g(1);
  const transform q = neutral.sample(g, 9, 13);
  CHECK(!has_geometry(q));
  CHECK(neutral.apply(img, q) == img);
  CHECK(none{}.apply(img, none{}.sample(g, 9, 13)) == img);
  // A flip alone is exact too: no resampling.
  transform flip;
  flip.flip_h = true;
  CHECK(apply(apply(img, flip), flip) == img);
}

TEST_CASE("a single option applies like the composition that holds only it") {
  const data::image img = test_picture(1, 20, 20);
  const rotation r{15};
  generator g1(8), g2(8);
  const rotation::params p = r.sample(g1, 20, 20);
  const transform q = compose<rotation>{r}.sample(g2, 20, 20);
  CHECK(q.rotation == p.theta);
  CHECK(r.apply(img, p) == compose<rotation>{r}.apply(img, q));
  transform by_hand;
  by_hand.rotation = p.theta;
  CHECK(r.apply(img, p) == apply(img, by_hand));
  // fill alone has no warp to fill; rescale alone rescales.
  CHECK(fill{fill_mode::constant, 9}.apply(img, {}) == img);
  const data::image half = rescale{0.5}.apply(img, {});
  CHECK(half.at(0, 3, 4) == img.at(0, 3, 4) * 0.5f);
}

TEST_CASE("study_policy is the study's ImageDataGenerator, and its output lies on [0, 1]") {
  const study_augmentation p = study_policy();
  CHECK(p.get<rotation>().degrees == 15);
  CHECK(p.get<shift>().height == 0.1);
  CHECK(p.get<shift>().width == 0.1);
  CHECK(p.get<brightness>().low == 0.8);
  CHECK(p.get<brightness>().high == 1.2);
  CHECK(p.get<fill>().mode == fill_mode::nearest);
  CHECK(p.get<rescale>().factor == 1.0 / 255);
  const data::image img = test_picture(3, 160, 160);
  generator g(31);
  for (int i = 0; i < 5; ++i) {
    const transform t = p.sample(g, 160, 160);
    const data::image y = p.apply(img, t);
    const auto [lo, hi] = std::minmax_element(y.pixels.begin(), y.pixels.end());
    CHECK(*lo >= 0.0f);
    CHECK(*hi <= 1.0f);
    CHECK(*hi > 0.5f);
  }
}
