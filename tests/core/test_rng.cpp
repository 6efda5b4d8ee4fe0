// Tests of core/rng.hpp.
#include <fergen/core/rng.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <vector>

using namespace fergen;

TEST_CASE("Philox4x32-10 reproduces the known-answer vectors of Random123") {
  // kat_vectors of the Random123 distribution (Salmon et al.), philox4x32 with 10 rounds.
  struct vector {
    philox_block counter;
    std::uint32_t key0, key1;
    philox_block expected;
  };
  const vector cases[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}}},
      {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
       0xffffffffu,
       0xffffffffu,
       {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}}},
      {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
       0xa4093822u,
       0x299f31d0u,
       {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}}},
  };
  for (const auto& c : cases) {
    const philox_block r = philox4x32_10(c.counter, c.key0, c.key1);
    for (int i = 0; i < 4; ++i) CHECK(r.v[i] == c.expected.v[i]);
  }
  // Usable at compile time: the same function runs in CUDA kernels.
  static_assert(philox4x32_10({{0, 0, 0, 0}}, 0, 0).v[0] == 0x6627e8d5u);
}

TEST_CASE("a stream's element i depends only on (seed, stream, i)") {
  const random_stream s{42, 3};
  std::vector<float> forward, backward;
  for (std::uint64_t i = 0; i < 100; ++i) forward.push_back(s.uniform(i));
  for (std::uint64_t i = 100; i-- > 0;) backward.push_back(s.uniform(i));
  std::reverse(backward.begin(), backward.end());
  CHECK(forward == backward);
  CHECK(random_stream{42, 4}.uniform(0) != s.uniform(0));
  CHECK(random_stream{43, 3}.uniform(0) != s.uniform(0));
}

TEST_CASE("uniform numbers lie in [0, 1) with the right moments; normals have mean 0 and variance 1") {
  const random_stream s{7, 1};
  constexpr int n = 200000;
  double sum = 0, sum_sq = 0, nsum = 0, nsum_sq = 0, nsum_4 = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    const double u = s.uniform(i);
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    sum += u;
    sum_sq += u * u;
    const double z = s.normal(i);
    REQUIRE(std::isfinite(z));
    nsum += z;
    nsum_sq += z * z;
    nsum_4 += z * z * z * z;
  }
  CHECK(sum / n == doctest::Approx(0.5).epsilon(0.01));
  CHECK(sum_sq / n - (sum / n) * (sum / n) == doctest::Approx(1.0 / 12).epsilon(0.01));
  CHECK(std::abs(nsum / n) < 0.01);  // 4.5 standard errors
  CHECK(nsum_sq / n == doctest::Approx(1.0).epsilon(0.01));
  CHECK(nsum_4 / n == doctest::Approx(3.0).epsilon(0.03));  // kurtosis of a normal
}

TEST_CASE("a generator hands out independent streams and restores its state exactly") {
  generator g(5);
  const random_stream a = g.take(), b = g.take();
  CHECK(a.id != b.id);
  CHECK(a.uniform(0) != b.uniform(0));
  const auto saved = g.save();
  const auto first = g(), second = g();
  const random_stream c = g.take();
  g.restore(saved);
  CHECK(g() == first);
  CHECK(g() == second);
  CHECK(g.take().id == c.id);
}

TEST_CASE("below(n) is uniform over [0, n) and works with std::shuffle") {
  generator g(11);
  std::vector<int> counts(6, 0);
  for (int i = 0; i < 60000; ++i) ++counts[static_cast<std::size_t>(g.below(6))];
  for (int c : counts) CHECK(std::abs(c - 10000) < 500);  // ~5 standard deviations
  CHECK(g.below(1) == 0);
  std::vector<int> v(50);
  std::iota(v.begin(), v.end(), 0);
  auto shuffled = v;
  generator h(3);
  std::shuffle(shuffled.begin(), shuffled.end(), h);
  CHECK(shuffled != v);
  CHECK(std::set<int>(shuffled.begin(), shuffled.end()).size() == 50);
  for (int i = 0; i < 1000; ++i) {
    const double u = g.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
  }
}
