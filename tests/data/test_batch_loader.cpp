// Tests of data/batch_loader.hpp: shapes, labels and coverage, drop_last, shuffling by (seed, epoch),
// bit-identical batches whatever the number of workers, shutdown mid-epoch, exceptions carried to next(),
// channel conversion and resizing.
#include <fergen/augment/study.hpp>
#include <fergen/data/batch_loader.hpp>
#include <fergen/data/resize.hpp>
#include <fergen/data/split.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

using namespace fergen;
using data::dataset;
using data::image;
using B = cpu<float>;

namespace {

std::string subject_name(std::int64_t s) { return "sub0" + std::to_string(s + 1); }

// 6 subjects x 4 clips x 10 frames of channels x 8 x 8 images whose pixels identify the sample.
dataset make_dataset(std::int64_t channels = 1, std::int64_t size = 8) {
  dataset ds({"a", "b", "c"});
  std::int64_t index = 0;
  for (std::int64_t s = 0; s < 6; ++s)
    for (std::int64_t c = 0; c < 4; ++c)
      for (std::int64_t f = 0; f < 10; ++f, ++index) {
        data::sample x;
        x.image = image(channels, size, size);
        for (std::size_t p = 0; p < x.image.pixels.size(); ++p)
          x.image.pixels[p] = static_cast<float>((index * 7 + static_cast<std::int64_t>(p) * 3) % 256);
        x.label = (s + c) % 3;
        x.subject = subject_name(s);
        x.clip = subject_name(s) + "/EP" + std::to_string(c);
        x.frame = f;
        ds.add(std::move(x));
      }
  return ds;
}

std::vector<std::int64_t> all_indices(const dataset& ds) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(ds.size()));
  std::iota(v.begin(), v.end(), std::int64_t{0});
  return v;
}

// A policy of the test's own: adds a random offset (so draws are visible in the values), optionally sleeps
// (so workers are busy when the loader is torn down) and throws at one dataset value (pixel 0 identifies the
// sample), as a policy that fails on some image would.
struct offset_policy {
  struct params {
    float offset = 0;
  };
  std::chrono::microseconds delay{0};
  float throw_at = -1;  // pixel 0 value that makes apply throw
  std::atomic<std::int64_t>* applied = nullptr;

  params sample(generator& g, std::int64_t, std::int64_t) const { return {static_cast<float>(g.uniform())}; }
  image apply(const image& img, const params& q) const {
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    if (applied) ++*applied;
    if (img.pixels[0] == throw_at) fail("offset_policy: refusing the image whose first pixel is ", throw_at);
    image out = img;
    for (auto& v : out.pixels) v += q.offset;
    return out;
  }
};
static_assert(augment::policy<offset_policy>);

template <class Loader>
std::vector<typename Loader::batch> epoch(Loader& loader, std::int64_t e) {
  loader.start_epoch(e);
  std::vector<typename Loader::batch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  CHECK(!loader.next());  // stays over
  return out;
}

template <class Batch>
std::vector<std::int64_t> order_of(const std::vector<Batch>& batches) {
  std::vector<std::int64_t> out;
  for (const auto& b : batches) out.insert(out.end(), b.indices.begin(), b.indices.end());
  return out;
}

template <class Batch>
bool identical(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].indices != b[i].indices || a[i].labels != b[i].labels) return false;
    if (a[i].images.shape() != b[i].images.shape()) return false;
    if (std::memcmp(a[i].images.data(), b[i].images.data(), static_cast<std::size_t>(a[i].images.size()) * sizeof(float)) != 0)
      return false;
  }
  return true;
}

}  // namespace

TEST_CASE("batches: shapes, labels, the dataset's values, every index once per epoch") {
  const dataset ds = make_dataset();
  data::batch_loader<B> loader(ds, all_indices(ds), augment::none{}, {.batch_size = 32, .seed = 3});
  CHECK(loader.batches_per_epoch() == 8);  // 7 x 32 + 16
  CHECK(loader.batch_shape() == shape{32, 1, 8, 8});
  const auto batches = epoch(loader, 0);
  REQUIRE(batches.size() == 8);
  for (std::size_t k = 0; k < batches.size(); ++k) {
    const auto& b = batches[k];
    const std::int64_t n = k < 7 ? 32 : 16;
    CHECK(b.images.shape() == shape{n, 1, 8, 8});
    REQUIRE(static_cast<std::int64_t>(b.labels.size()) == n);
    REQUIRE(static_cast<std::int64_t>(b.indices.size()) == n);
    for (std::int64_t j = 0; j < n; ++j) {
      const auto& s = ds[b.indices[static_cast<std::size_t>(j)]];
      CHECK(b.labels[static_cast<std::size_t>(j)] == s.label);
      // augment::none leaves the [0, 255] values as they are.
      CHECK(std::equal(s.image.pixels.begin(), s.image.pixels.end(), b.images.data() + j * 64));
    }
  }
  std::vector<std::int64_t> seen = order_of(batches);
  CHECK(seen != all_indices(ds));  // shuffled
  std::sort(seen.begin(), seen.end());
  CHECK(seen == all_indices(ds));
}

TEST_CASE("a subset given as indices: only those, each once; drop_last drops the partial batch") {
  const dataset ds = make_dataset();
  const data::split s = data::leave_one_subject_out(ds)[2];
  data::batch_loader<B> loader(ds, s.train, augment::none{}, {.batch_size = 64, .drop_last = true, .workers = 1});
  CHECK(loader.batches_per_epoch() == 3);  // 200 train frames: 3 x 64, 8 dropped
  const auto batches = epoch(loader, 0);
  REQUIRE(batches.size() == 3);
  std::vector<std::int64_t> seen = order_of(batches);
  for (const auto& b : batches) CHECK(b.images.shape().n == 64);
  CHECK(seen.size() == 192);
  std::sort(seen.begin(), seen.end());
  CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
  for (const auto i : seen) CHECK(std::binary_search(s.train.begin(), s.train.end(), i));

  data::batch_loader<B> keep(ds, s.test, augment::none{}, {.batch_size = 64, .drop_last = false});
  CHECK(keep.batches_per_epoch() == 1);
  CHECK(epoch(keep, 0).front().images.shape().n == 40);
}

TEST_CASE("order: shuffled by (seed, epoch); epochs differ; shuffle off keeps the given order") {
  const dataset ds = make_dataset();
  const auto indices = all_indices(ds);
  data::batch_loader<B> a(ds, indices, augment::none{}, {.batch_size = 50, .seed = 9});
  data::batch_loader<B> b(ds, indices, augment::none{}, {.batch_size = 50, .seed = 9, .workers = 3});
  data::batch_loader<B> c(ds, indices, augment::none{}, {.batch_size = 50, .seed = 10});
  const auto a0 = order_of(epoch(a, 0)), a1 = order_of(epoch(a, 1));
  CHECK(a0 == order_of(epoch(b, 0)));
  CHECK(a1 == order_of(epoch(b, 1)));
  CHECK(a0 != a1);
  CHECK(a0 != order_of(epoch(c, 0)));
  CHECK(a0 == order_of(epoch(a, 0)));  // an epoch can be replayed

  std::vector<std::int64_t> reversed(indices.rbegin(), indices.rend());
  data::batch_loader<B> in_order(ds, reversed, augment::none{}, {.batch_size = 50, .shuffle = false});
  CHECK(order_of(epoch(in_order, 0)) == reversed);
  CHECK(order_of(epoch(in_order, 5)) == reversed);
}

TEST_CASE("workers 0, 1, 2 and 3 give bit-identical batches (augmentation drawn per (seed, epoch, position))") {
  const dataset ds = make_dataset(1, 12);
  const auto indices = all_indices(ds);
  using L = data::batch_loader<B, augment::study_augmentation>;
  std::vector<std::vector<L::batch>> runs;
  for (const std::int64_t workers : {0, 1, 2, 3}) {
    for (const std::int64_t prefetch : {1, 3}) {
      L loader(ds, indices, augment::study_policy(),
               {.batch_size = 7, .height = 20, .width = 20, .channels = 3, .seed = 4, .workers = workers,
                .prefetch = prefetch});
      auto batches = epoch(loader, 0);
      auto second = epoch(loader, 1);
      batches.insert(batches.end(), second.begin(), second.end());
      runs.push_back(std::move(batches));
    }
  }
  for (std::size_t r = 1; r < runs.size(); ++r) {
    CAPTURE(r);
    CHECK(identical(runs[0], runs[r]));
  }
  // The study's policy rescales by 1/255: values on [0, 1], and not the bare resized image.
  const auto& first = runs[0].front();
  const auto [lo, hi] = std::minmax_element(first.images.data(), first.images.data() + first.images.size());
  CHECK(*lo >= 0.0f);
  CHECK(*hi <= 1.0f);
  CHECK(*hi > 0.5f);

  // Sample at position p of epoch e: the policy's draw from generator(loader_seed(seed, e, sample, p)).
  const augment::study_augmentation policy = augment::study_policy();
  const std::int64_t index = first.indices[2];
  generator g(data::detail::loader_seed(4, 0, data::detail::loader_draw::sample, 2));
  const image expected =
      data::to_rgb(policy.apply(data::resize_bilinear(ds[index].image, 20, 20), policy.sample(g, 20, 20)));
  CHECK(std::equal(expected.pixels.begin(), expected.pixels.end(), first.images.data() + 2 * 3 * 20 * 20));
}

TEST_CASE("the policy's draws differ between epochs and between positions") {
  const dataset ds = make_dataset();
  std::vector<std::int64_t> same(16, 5);  // one sample, sixteen times
  data::batch_loader<B, offset_policy> loader(ds, same, offset_policy{}, {.batch_size = 16, .shuffle = false});
  const auto e0 = epoch(loader, 0), e1 = epoch(loader, 1);
  const float* v0 = e0[0].images.data();
  const float* v1 = e1[0].images.data();
  CHECK(v0[0] != v0[64]);  // positions 0 and 1, same image
  CHECK(v0[0] != v1[0]);   // epoch 0 and 1, same position
}

TEST_CASE("destroying the loader or restarting mid-epoch stops its workers cleanly") {
  const dataset ds = make_dataset();
  const auto indices = all_indices(ds);
  std::atomic<std::int64_t> applied{0};
  const offset_policy slow{.delay = std::chrono::microseconds(2000), .applied = &applied};
  for (const std::int64_t workers : {1, 2, 4}) {
    CAPTURE(workers);
    {
      data::batch_loader<B, offset_policy> loader(ds, indices, slow, {.batch_size = 4, .workers = workers, .prefetch = 2});
      loader.start_epoch(0);
      CHECK(loader.next());
    }  // workers busy on later batches: joined here, without deadlock
    {
      data::batch_loader<B, offset_policy> loader(ds, indices, slow, {.batch_size = 4, .workers = workers});
      loader.start_epoch(0);
    }  // never asked for a batch
    data::batch_loader<B, offset_policy> loader(ds, indices, offset_policy{}, {.batch_size = 16, .workers = workers});
    loader.start_epoch(0);
    CHECK(loader.next());
    CHECK(loader.next());
    const auto full = epoch(loader, 1);  // restarts mid-epoch 0
    CHECK(full.size() == 15);
    data::batch_loader<B, offset_policy> fresh(ds, indices, offset_policy{}, {.batch_size = 16, .workers = 0});
    CHECK(identical(full, epoch(fresh, 1)));
  }
  // The prefetch window bounds the work done ahead: a consumer that stops after one batch of 4 leaves at
  // most (1 + window) batches of images prepared per loader.
  applied = 0;
  {
    data::batch_loader<B, offset_policy> loader(ds, indices, slow, {.batch_size = 4, .workers = 2, .prefetch = 2});
    loader.start_epoch(0);
    CHECK(loader.next());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(applied.load() <= 4 * 3);
}

TEST_CASE("an exception in a worker reaches next() as the same fergen::error, at its batch") {
  const dataset ds = make_dataset();
  const auto indices = all_indices(ds);
  const float bad = ds[37].image.pixels[0];
  // Sample 37 alone has that first pixel: index * 7 % 256 is distinct for indices below 256.
  for (std::int64_t i = 0; i < ds.size(); ++i)
    if (i != 37) REQUIRE(ds[i].image.pixels[0] != bad);
  for (const std::int64_t workers : {0, 1, 3}) {
    CAPTURE(workers);
    data::batch_loader<B, offset_policy> loader(ds, indices, offset_policy{.throw_at = bad},
                                                {.batch_size = 10, .shuffle = false, .workers = workers});
    loader.start_epoch(0);
    for (int k = 0; k < 3; ++k) CHECK(loader.next());  // samples 0..29
    CHECK_THROWS_WITH_AS(loader.next(), "offset_policy: refusing the image whose first pixel is 3", error);
    CHECK_THROWS_WITH_AS(loader.next(), "offset_policy: refusing the image whose first pixel is 3", error);  // sticky
    loader.start_epoch(1);  // a new epoch runs again, up to the same sample
    for (int k = 0; k < 3; ++k) CHECK(loader.next());
    CHECK_THROWS_AS(loader.next(), error);
  }
}

TEST_CASE("channels: gray replicated into 3 channels, RGB reduced to 1; resize to 160 is torch's antialiased bilinear") {
  const dataset gray = make_dataset(1, 48);
  data::batch_loader<B> rgb_loader(gray, {3, 4}, augment::none{}, {.batch_size = 2, .channels = 3, .shuffle = false});
  const auto rgb = epoch(rgb_loader, 0).front();
  REQUIRE(rgb.images.shape() == shape{2, 3, 48, 48});
  for (std::int64_t j = 0; j < 2; ++j)
    for (std::int64_t c = 0; c < 3; ++c)
      CHECK(std::equal(gray[3 + j].image.pixels.begin(), gray[3 + j].image.pixels.end(),
                       rgb.images.data() + (j * 3 + c) * 48 * 48));

  const dataset colour = make_dataset(3, 8);
  data::batch_loader<B> gray_loader(colour, {0}, augment::none{}, {.batch_size = 1, .channels = 1});
  const auto g = epoch(gray_loader, 0).front();
  REQUIRE(g.images.shape() == shape{1, 1, 8, 8});
  const image expected_gray = data::to_grayscale(colour[0].image);
  CHECK(std::equal(expected_gray.pixels.begin(), expected_gray.pixels.end(), g.images.data()));

  data::batch_loader<B> big(gray, {5, 6, 7}, augment::none{},
                            {.batch_size = 8, .height = 160, .width = 160, .channels = 3, .shuffle = false});
  const auto resized = epoch(big, 0).front();
  REQUIRE(resized.images.shape() == shape{3, 3, 160, 160});
  const image expected = data::resize_bilinear(gray[6].image, 160, 160, true);
  CHECK(std::equal(expected.pixels.begin(), expected.pixels.end(), resized.images.data() + (1 * 3 + 2) * 160 * 160));

  // Double tensors get the same values.
  data::batch_loader<cpu<double>> doubles(gray, {6}, augment::none{}, {.batch_size = 1, .height = 160, .width = 160});
  const auto d = epoch(doubles, 0).front();
  CHECK(d.images.data()[1234] == static_cast<double>(expected.pixels[1234]));
}

TEST_CASE("bad options and inputs are errors naming the option and values") {
  const dataset ds = make_dataset();
  const auto indices = all_indices(ds);
  using L = data::batch_loader<B>;
  const augment::none none;
  CHECK_THROWS_WITH_AS(L(ds, indices, none, {.batch_size = 0}), doctest::Contains("batch_size 0 must be >= 1"), error);
  CHECK_THROWS_WITH_AS(L(ds, indices, none, {.height = 160}), doctest::Contains("height 160 and width 0"), error);
  CHECK_THROWS_WITH_AS(L(ds, indices, none, {.channels = 2}), doctest::Contains("channels 2 must be 0"), error);
  CHECK_THROWS_WITH_AS(L(ds, indices, none, {.workers = -1}), doctest::Contains("workers -1"), error);
  CHECK_THROWS_WITH_AS(L(ds, indices, none, {.prefetch = 0}), doctest::Contains("prefetch 0 must be >= 1"), error);
  CHECK_THROWS_WITH_AS(L(ds, {}, none, {}), doctest::Contains("no samples"), error);
  CHECK_THROWS_WITH_AS(L(ds, {0, 240}, none, {}), doctest::Contains("index 240 is outside the dataset's [0, 240)"),
                       error);
  CHECK_THROWS_WITH_AS(L(ds, {0, 1}, none, {.batch_size = 4, .drop_last = true}),
                       doctest::Contains("drop_last with batch_size 4 and 2 samples leaves no batch"), error);

  dataset mixed = make_dataset();
  mixed[3].image = image(1, 6, 6);
  CHECK_THROWS_WITH_AS(L(mixed, {0, 3}, none, {}), doctest::Contains("sample 3 is 6 x 6, sample 0 is 8 x 8"), error);
  CHECK_NOTHROW(L(mixed, {0, 3}, none, {.height = 8, .width = 8}));
  mixed[4].image = image(3, 8, 8);
  CHECK_THROWS_WITH_AS(L(mixed, {0, 4}, none, {}), doctest::Contains("sample 4 has 3 channels, sample 0 has 1"), error);
  CHECK_NOTHROW(L(mixed, {0, 4}, none, {.channels = 3}));
  mixed[5].image = image(2, 8, 8);
  CHECK_THROWS_WITH_AS(L(mixed, {0, 5}, none, {.channels = 3}), doctest::Contains("sample 5 has 2 channels"), error);

  // The loader refers to the dataset: a temporary one does not compile.
  static_assert(!std::is_constructible_v<L, dataset&&, std::vector<std::int64_t>, augment::none, L::options>);
  static_assert(std::is_constructible_v<L, const dataset&, std::vector<std::int64_t>, augment::none, L::options>);

  L loader(ds, indices, none, {});
  CHECK_THROWS_WITH_AS(loader.next(), doctest::Contains("no epoch started"), error);
  CHECK_THROWS_WITH_AS(loader.start_epoch(-1), doctest::Contains("epoch -1"), error);
}
