// Tests of augment/affine.hpp and augment/transform.hpp against Keras' apply_transform rewritten on
// scipy.ndimage (tests/reference/augment_reference.py).
#include <fergen/augment/affine.hpp>
#include <fergen/augment/transform.hpp>

#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>

#if defined(_OPENMP)
#include <omp.h>
#endif

using namespace fergen;
using augment::fill_mode;

namespace {

data::image to_image(const npy_array& a) {
  REQUIRE(a.shape.size() == 3);
  data::image img(a.shape[0], a.shape[1], a.shape[2]);
  img.pixels = a.values<float>();
  return img;
}

augment::transform transform_of(const npz_archive& ref) {
  const auto p = testing::values_of<double>(ref, "params");
  REQUIRE(p.size() == 10);
  const auto bytes = testing::values_of<int>(ref, "mode");
  std::string mode;
  for (const int b : bytes) mode.push_back(static_cast<char>(b));
  augment::transform t;
  t.rotation = p[0];
  t.shift_rows = p[1];
  t.shift_cols = p[2];
  t.zoom_rows = p[3];
  t.zoom_cols = p[4];
  t.flip_h = p[5] != 0;
  t.flip_v = p[6] != 0;
  t.brightness = p[7];
  t.rescale = p[8];
  t.cval = static_cast<float>(p[9]);
  t.fill = augment::parse_fill_mode(mode);
  return t;
}

// A picture with structure on every scale, on [0, 255].
data::image test_picture(std::int64_t c, std::int64_t h, std::int64_t w) {
  data::image img(c, h, w);
  for (std::int64_t k = 0; k < c; ++k)
    for (std::int64_t r = 0; r < h; ++r)
      for (std::int64_t x = 0; x < w; ++x)
        img.at(k, r, x) = static_cast<float>(127.5 + 127.0 * std::sin(0.37 * static_cast<double>(r * (k + 1)) +
                                                                        0.11 * static_cast<double>(x * x % 97)));
  return img;
}

}  // namespace

TEST_CASE("apply equals Keras' apply_transform on scipy.ndimage.affine_transform, every fill mode, borders included") {
  double worst = 0;
  std::int64_t total = 0, identical = 0;
  std::map<std::string, double> worst_per_mode;
  for (const std::string& name : testing::reference_cases("augment_reference")) {
    CAPTURE(name);
    const auto ref = testing::load_reference("augment_reference", name);
    const data::image x = to_image(testing::member(ref, "x"));
    const augment::transform t = transform_of(ref);
    CAPTURE(t);

    // The matrix is Keras' (in the fixed evaluation order both sides use), bit for bit.
    const bool warped = testing::values_of<std::int64_t>(ref, "warped").at(0) != 0;
    REQUIRE(augment::has_geometry(t) == warped);
    if (warped) {
      const auto expected = testing::values_of<double>(ref, "matrix");
      const augment::affine_matrix m = augment::keras_matrix(t, x.height, x.width);
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 3; ++j) CHECK(m.m[i][j] == expected[static_cast<std::size_t>(i * 3 + j)]);
    }

    const data::image y = augment::apply(x, t);
    const auto expected = testing::values_of<float>(ref, "y");
    REQUIRE(y.pixels.size() == expected.size());
    // The acceptance measure: |difference| on the [0, 1] scale, i.e. after a rescale of 1/255.
    const double to_unit = 1.0 / (255.0 * std::abs(t.rescale));
    double case_worst = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const double d = std::abs(static_cast<double>(y.pixels[i]) - static_cast<double>(expected[i])) * to_unit;
      case_worst = std::max(case_worst, std::isnan(d) ? 1e9 : d);
      identical += y.pixels[i] == expected[i];
    }
    total += static_cast<std::int64_t>(expected.size());
    CHECK(case_worst <= 1.0 / 255.0);
    worst = std::max(worst, case_worst);
    std::string mode_tag = name.substr(name.rfind('.') + 1);
    worst_per_mode[mode_tag] = std::max(worst_per_mode[mode_tag], case_worst);
  }
  CHECK(total > 0);
  CHECK(worst_per_mode.size() == 5);  // nearest, constant0, constant128, reflect, wrap
  MESSAGE("max |fergen - scipy| on the [0, 1] scale: ", worst, " over ", total, " values, ", identical,
          " of them bit-identical");
}

TEST_CASE("warp_affine alone is scipy's resampling: identity, integer shifts, half-pixel reflect, legacy wrap") {
  data::image img(1, 3, 4);
  for (std::int64_t i = 0; i < 12; ++i) img.pixels[static_cast<std::size_t>(i)] = static_cast<float>(10 * i);
  // The identity matrix reproduces the input in every mode.
  for (const fill_mode mode : {fill_mode::nearest, fill_mode::constant, fill_mode::reflect, fill_mode::wrap})
    CHECK(augment::warp_affine(img, {}, mode) == img);

  // Output column c reads source column c + 1.5; row 0 is 0, 10, 20, 30 (values checked with scipy 1.10).
  augment::affine_matrix a;
  a.m[1][2] = 1.5;
  const auto row0 = [](const data::image& im) {
    return std::vector<float>{im.at(0, 0, 0), im.at(0, 0, 1), im.at(0, 0, 2), im.at(0, 0, 3)};
  };
  // nearest: 15, 25, 30, 30
  CHECK(row0(augment::warp_affine(img, a, fill_mode::nearest)) == std::vector<float>{15, 25, 30, 30});
  // constant: no interpolation across the edge: 3.5 > n - 1 is cval, not a blend of 30 and cval
  CHECK(row0(augment::warp_affine(img, a, fill_mode::constant, -1.0f)) == std::vector<float>{15, 25, -1, -1});
  // reflect (a b c d | d c b a): 3.5 lies between d and its mirror d, so 30; 4.5 maps to 2 n - 4.5 - 1 = 2.5, 25
  CHECK(row0(augment::warp_affine(img, a, fill_mode::reflect)) == std::vector<float>{15, 25, 30, 25});
  // wrap, period n - 1 = 3: 3.5 -> 0.5 (5), 4.5 -> 1.5 (15)
  CHECK(row0(augment::warp_affine(img, a, fill_mode::wrap)) == std::vector<float>{15, 25, 5, 15});
}

TEST_CASE("a coordinate exactly on the last pixel is that pixel under every mode; one ulp beyond is not") {
  data::image img(1, 1, 5);
  for (std::int64_t i = 0; i < 5; ++i) img.pixels[static_cast<std::size_t>(i)] = static_cast<float>(i + 1);
  augment::affine_matrix a;
  a.m[1][2] = 4.0;  // output column 0 reads source column 4 = n - 1 exactly
  for (const fill_mode mode : {fill_mode::nearest, fill_mode::constant, fill_mode::reflect, fill_mode::wrap})
    CHECK(augment::warp_affine(img, a, mode, -7.0f).at(0, 0, 0) == 5.0f);
  a.m[1][2] = std::nextafter(4.0, 5.0);
  CHECK(augment::warp_affine(img, a, fill_mode::constant, -7.0f).at(0, 0, 0) == -7.0f);
  // legacy wrap: n - 1 + e lands on e, next to the FIRST pixel
  CHECK(augment::warp_affine(img, a, fill_mode::wrap).at(0, 0, 0) == 1.0f);
  CHECK(augment::warp_affine(img, a, fill_mode::nearest).at(0, 0, 0) == 5.0f);
  CHECK(augment::warp_affine(img, a, fill_mode::reflect).at(0, 0, 0) == 5.0f);
  // Just below 0: scipy's reflect keeps -in - 1 above -1 (else it would read as outside, cval); legacy wrap adds
  // the period n - 1 and lands on the LAST pixel (values checked with scipy 1.10).
  a.m[1][2] = -1e-17;
  CHECK(augment::warp_affine(img, a, fill_mode::reflect, -7.0f).at(0, 0, 0) == 1.0f);
  CHECK(augment::warp_affine(img, a, fill_mode::wrap, -7.0f).at(0, 0, 0) == 5.0f);
  CHECK(augment::warp_affine(img, a, fill_mode::constant, -7.0f).at(0, 0, 0) == -7.0f);
  a.m[1][2] = -1.5;
  CHECK(augment::warp_affine(img, a, fill_mode::reflect).at(0, 0, 0) == 1.5f);
  CHECK(augment::warp_affine(img, a, fill_mode::wrap).at(0, 0, 0) == 3.5f);
}

TEST_CASE("a large warp gives the same bits with one thread or two") {
  const data::image img = test_picture(3, 420, 380);  // above the size at which the warp uses threads
  augment::transform t;
  t.rotation = 12.5;
  t.shift_rows = -7.25;
  t.zoom_cols = 1.1;
  t.fill = fill_mode::reflect;
#if defined(_OPENMP)
  omp_set_num_threads(1);
#endif
  const data::image one = augment::apply(img, t);
#if defined(_OPENMP)
  omp_set_num_threads(2);
#endif
  const data::image two = augment::apply(img, t);
#if defined(_OPENMP)
  omp_set_num_threads(1);
#endif
  CHECK(one == two);
}

TEST_CASE("warp_affine rejects matrices that leave double precision and inconsistent images") {
  const data::image img = test_picture(1, 8, 8);
  augment::affine_matrix a;
  a.m[0][2] = std::nan("");
  CHECK_THROWS_WITH_AS(augment::warp_affine(img, a, fill_mode::nearest), doctest::Contains("non-finite"), error);
  a.m[0][2] = 1e300;
  CHECK_THROWS_WITH_AS(augment::warp_affine(img, a, fill_mode::nearest), doctest::Contains("beyond 2^52"), error);
  data::image broken = img;
  broken.pixels.pop_back();
  CHECK_THROWS_WITH_AS(augment::warp_affine(broken, {}, fill_mode::nearest), doctest::Contains("inconsistent"), error);
  CHECK_THROWS_WITH_AS(augment::warp_affine(img, {}, static_cast<fill_mode>(9)), doctest::Contains("fill_mode(9)"),
                       error);
}
