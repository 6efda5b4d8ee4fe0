// Tests of augment/policies.hpp, augment/fill_mode.hpp and the validation in augment/transform.hpp: what the
// Keras options draw, and the errors bad options give.
#include <fergen/augment/compose.hpp>
#include <fergen/augment/fill_mode.hpp>
#include <fergen/augment/policies.hpp>
#include <fergen/augment/policy.hpp>
#include <fergen/augment/study.hpp>
#include <fergen/augment/transform.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

using namespace fergen;
using namespace fergen::augment;

namespace {

struct moments {
  double mean = 0, variance = 0, min = std::numeric_limits<double>::infinity(),
         max = -std::numeric_limits<double>::infinity();
};

moments moments_of(const std::vector<double>& v) {
  moments m;
  for (const double x : v) {
    m.mean += x;
    m.min = std::min(m.min, x);
    m.max = std::max(m.max, x);
  }
  m.mean /= static_cast<double>(v.size());
  for (const double x : v) m.variance += (x - m.mean) * (x - m.mean);
  m.variance /= static_cast<double>(v.size());
  return m;
}

}  // namespace

TEST_CASE("every option, compose and none satisfy the policy concept; other types do not") {
  static_assert(policy<none>);
  static_assert(policy<rotation> && policy<shift> && policy<zoom> && policy<horizontal_flip> &&
                policy<vertical_flip> && policy<brightness> && policy<fill> && policy<rescale>);
  static_assert(keras_stage<rotation> && keras_stage<rescale> && !keras_stage<none>);
  static_assert(policy<compose<>> && policy<compose<brightness, rotation>> && policy<study_augmentation>);
  static_assert(std::same_as<study_augmentation::params, transform>);
  static_assert(!policy<int> && !policy<transform>);
}

TEST_CASE("sampling is deterministic by seed, one stream per image") {
  const auto p = study_policy();
  generator a(17), b(17), c(18);
  std::vector<transform> first, second, other;
  for (int i = 0; i < 100; ++i) {
    first.push_back(p.sample(a, 160, 160));
    second.push_back(p.sample(b, 160, 160));
    other.push_back(p.sample(c, 160, 160));
  }
  CHECK(first == second);
  CHECK(first != other);
  CHECK(first[0] != first[1]);
  CHECK(a.save().streams_taken == 100);  // exactly one stream per sample
  CHECK(a.save().words_used == 0);

  // none draws nothing at all.
  generator g(3);
  none{}.sample(g, 10, 10);
  CHECK(g.save().streams_taken == 0);
}

TEST_CASE("the study's draws respect Keras' ranges: theta, shifts, flips, brightness") {
  const auto p = study_policy();
  generator g(2024);
  constexpr int n = 20000;
  std::vector<double> theta, rows, cols, bright;
  int flips = 0;
  for (int i = 0; i < n; ++i) {
    const transform t = p.sample(g, 160, 128);
    theta.push_back(t.rotation);
    rows.push_back(t.shift_rows);
    cols.push_back(t.shift_cols);
    bright.push_back(t.brightness);
    flips += t.flip_h;
    REQUIRE(!t.flip_v);
    REQUIRE(t.zoom_rows == 1);
    REQUIRE(t.zoom_cols == 1);
    REQUIRE(t.fill == fill_mode::nearest);
    REQUIRE(t.rescale == 1.0 / 255.0);
  }
  // uniform(-a, a): mean 0, variance a^2 / 3, extremes close to +-a and never beyond.
  const moments th = moments_of(theta);
  CHECK(th.min >= -15.0);
  CHECK(th.max < 15.0);
  CHECK(th.min < -14.95);
  CHECK(th.max > 14.95);
  CHECK(std::abs(th.mean) < 0.25);  // 4 standard errors
  CHECK(th.variance == doctest::Approx(75.0).epsilon(0.04));
  // height_shift_range 0.1 of 160 rows: [-16, 16) pixels; width 0.1 of 128 columns: [-12.8, 12.8).
  const moments r = moments_of(rows), c = moments_of(cols);
  CHECK(r.min >= -16.0);
  CHECK(r.max < 16.0);
  CHECK(r.max > 15.9);
  CHECK(c.min >= -12.8);
  CHECK(c.max < 12.8);
  CHECK(c.max > 12.7);
  CHECK(std::abs(r.mean) < 0.3);
  const moments b = moments_of(bright);
  CHECK(b.min >= 0.8);
  CHECK(b.max < 1.2);
  CHECK(b.mean == doctest::Approx(1.0).epsilon(0.005));
  // horizontal flip with probability 1/2: standard deviation of the fraction is 0.0035.
  CHECK(std::abs(static_cast<double>(flips) / n - 0.5) < 0.015);
}

TEST_CASE("shift ranges below 1 are fractions of the image size, ranges from 1 are pixels (Keras' rule)") {
  // Same seed, same draw u; a fraction scales with the size, pixels do not.
  const shift fraction{.height = 0.1, .width = 0.2};
  generator g1(5), g2(5);
  const shift::params small = fraction.sample(g1, 50, 40), large = fraction.sample(g2, 100, 400);
  CHECK(small.rows != 0);
  CHECK(large.rows == small.rows * 2);
  CHECK(large.cols == small.cols * 10);
  CHECK(std::abs(small.rows) < 5.0);
  CHECK(std::abs(small.cols) < 8.0);

  const shift pixels{.height = 5, .width = 1};  // 1 is already pixels, as np.max(range) < 1 is false
  generator g3(5), g4(5);
  const shift::params p1 = pixels.sample(g3, 50, 40), p2 = pixels.sample(g4, 1000, 1000);
  CHECK(p1 == p2);
  for (int i = 0; i < 2000; ++i) {
    const shift::params q = pixels.sample(g3, 20, 20);
    REQUIRE(std::abs(q.rows) <= 5.0);
    REQUIRE(std::abs(q.cols) <= 1.0);
  }
  CHECK(shift::to_pixels(0.05, 0.1, 160) == 0.05 * 160);
  CHECK(shift::to_pixels(0.5, 1.0, 160) == 0.5);
  // No range, no shift.
  generator g5(5);
  CHECK(shift{}.sample(g5, 10, 10) == shift::params{});
}

TEST_CASE("zoom draws zx and zy independently from [low, high); a float range z is [1 - z, 1 + z]") {
  const zoom z = zoom::range(0.2);
  CHECK(z.low == doctest::Approx(0.8));
  CHECK(z.high == doctest::Approx(1.2));
  generator g(9);
  int different = 0;
  double lo = 10, hi = 0;
  for (int i = 0; i < 5000; ++i) {
    const zoom::params q = z.sample(g, 32, 32);
    different += q.rows != q.cols;
    lo = std::min({lo, q.rows, q.cols});
    hi = std::max({hi, q.rows, q.cols});
  }
  CHECK(different == 5000);
  CHECK(lo >= z.low);
  CHECK(hi < z.high);
  CHECK(lo < 0.801);
  CHECK(hi > 1.199);
  generator g2(9);
  CHECK(zoom{}.sample(g2, 8, 8) == zoom::params{1, 1});
  CHECK(rotation{}.sample(g2, 8, 8) == rotation::params{0});
}

TEST_CASE("vertical flips happen half the time; each option's draw is independent of the others present") {
  generator g(77);
  int flips = 0;
  for (int i = 0; i < 10000; ++i) flips += vertical_flip{}.sample(g, 4, 4).flip;
  CHECK(std::abs(flips / 10000.0 - 0.5) < 0.02);

  // Rotation alone and rotation among other options draw the same theta from the same seed.
  const compose<rotation> alone{rotation{15}};
  const compose<zoom, brightness, rotation, vertical_flip> crowded{zoom::range(0.3), brightness{0.5, 1.5},
                                                                   rotation{15}, vertical_flip{}};
  generator a(4), b(4);
  for (int i = 0; i < 50; ++i) REQUIRE(alone.sample(a, 20, 30).rotation == crowded.sample(b, 20, 30).rotation);
}

TEST_CASE("bad options are errors that name the option and its value") {
  generator g(1);
  CHECK_THROWS_WITH_AS(rotation{-1}.sample(g, 8, 8), doctest::Contains("augment::rotation: degrees -1"), error);
  CHECK_THROWS_WITH_AS(rotation{std::nan("")}.sample(g, 8, 8), doctest::Contains("degrees nan"), error);
  CHECK_THROWS_WITH_AS((shift{.height = -0.1, .width = 0}.sample(g, 8, 8)),
                       doctest::Contains("augment::shift: height -0.1"), error);
  CHECK_THROWS_WITH_AS((shift{.height = 0, .width = -3}.sample(g, 8, 8)), doctest::Contains("augment::shift: width -3"),
                       error);
  CHECK_THROWS_WITH_AS((zoom{0, 1.2}.sample(g, 8, 8)), doctest::Contains("augment::zoom: low 0 must be > 0"), error);
  CHECK_THROWS_WITH_AS((zoom{-0.5, 1.2}.sample(g, 8, 8)), doctest::Contains("low -0.5"), error);
  CHECK_THROWS_WITH_AS((zoom{1.2, 0.8}.sample(g, 8, 8)), doctest::Contains("low 1.2 is above high 0.8"), error);
  CHECK_THROWS_WITH_AS(zoom::range(1.0), doctest::Contains("zoom_range 1"), error);
  CHECK_THROWS_WITH_AS(zoom::range(-0.2), doctest::Contains("zoom_range -0.2"), error);
  CHECK_THROWS_WITH_AS((brightness{-0.1, 1}.sample(g, 8, 8)), doctest::Contains("augment::brightness: low -0.1"),
                       error);
  CHECK_THROWS_WITH_AS((brightness{1.3, 1.2}.sample(g, 8, 8)), doctest::Contains("low 1.3 is above high 1.2"), error);
  CHECK_THROWS_WITH_AS(rescale{0}.sample(g, 8, 8), doctest::Contains("augment::rescale: factor 0"), error);
  CHECK_THROWS_WITH_AS((fill{static_cast<fill_mode>(7), 0}.sample(g, 8, 8)),
                       doctest::Contains("augment::fill: mode fill_mode(7)"), error);
  CHECK_THROWS_WITH_AS((fill{fill_mode::constant, std::numeric_limits<float>::infinity()}.sample(g, 8, 8)),
                       doctest::Contains("cval inf"), error);
  CHECK_THROWS_WITH_AS(rotation{15}.sample(g, 0, 8), doctest::Contains("image size 0 x 8"), error);
  // compose checks its parts when it is made, not at the first batch.
  CHECK_THROWS_WITH_AS(compose(rotation{15}, rescale{0}), doctest::Contains("augment::rescale: factor 0"), error);
  CHECK_THROWS_WITH_AS(study_policy().sample(g, 160, -1), doctest::Contains("augment::compose: image size 160 x -1"),
                       error);
}

TEST_CASE("bad exact parameters are errors naming the parameter") {
  const data::image img(1, 4, 4, 100.0f);
  const auto bad = [&](auto edit, const char* message) {
    transform t;
    edit(t);
    CHECK_THROWS_WITH_AS(augment::apply(img, t), doctest::Contains(message), error);
  };
  bad([](transform& t) { t.zoom_rows = 0; }, "zoom_rows 0");
  bad([](transform& t) { t.zoom_cols = -1; }, "zoom_cols -1");
  bad([](transform& t) { t.rescale = 0; }, "rescale 0");
  bad([](transform& t) { t.brightness = -0.5; }, "brightness -0.5 is negative");
  bad([](transform& t) { t.rotation = std::numeric_limits<double>::infinity(); }, "rotation inf is not finite");
  bad([](transform& t) { t.shift_cols = 1e12; }, "shift_cols 1e+12");
  bad([](transform& t) { t.fill = static_cast<fill_mode>(-1); }, "fill fill_mode(-1)");
  CHECK_THROWS_WITH_AS(augment::apply(data::image{}, transform{}), doctest::Contains("empty"), error);
}

TEST_CASE("fill modes parse from their Keras names; anything else is an error listing the valid names") {
  CHECK(parse_fill_mode("nearest") == fill_mode::nearest);
  CHECK(parse_fill_mode("constant") == fill_mode::constant);
  CHECK(parse_fill_mode("reflect") == fill_mode::reflect);
  CHECK(parse_fill_mode("wrap") == fill_mode::wrap);
  for (const fill_mode m : {fill_mode::nearest, fill_mode::constant, fill_mode::reflect, fill_mode::wrap})
    CHECK(parse_fill_mode(name(m)) == m);
  CHECK_THROWS_WITH_AS(parse_fill_mode("mirror"),
                       "augment: unknown fill mode 'mirror' (valid fill modes: nearest, constant, reflect, wrap)",
                       error);
  CHECK_THROWS_WITH_AS(parse_fill_mode("Nearest"), doctest::Contains("'Nearest'"), error);
  CHECK_THROWS_WITH_AS(parse_fill_mode("grid-wrap"), doctest::Contains("'grid-wrap'"), error);
  CHECK_THROWS_WITH_AS(parse_fill_mode(""), doctest::Contains("''"), error);
}
