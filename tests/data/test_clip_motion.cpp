// clip_motion: each frame's distance from its clip's first frame, over the clip's largest; moving_frames.
#include <fergen/data/clip_motion.hpp>
#include <fergen/data/procedural_faces.hpp>

#include <support/errors.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

using namespace fergen;
using namespace fergen::data;

namespace {

sample flat(float level, std::string clip, std::int64_t frame, std::int64_t size = 8) {
  image img(1, size, size, level);
  return sample{std::move(img), 0, "sub01", std::move(clip), frame, ""};
}

}  // namespace

TEST_CASE("clip_motion: distance from the clip's first frame by number, over the clip's largest") {
  dataset ds({"a"});
  // Added out of order: frame 10 is the clip's first, whatever the dataset's order.
  ds.add(flat(130, "c1", 12));
  ds.add(flat(100, "c1", 10));
  ds.add(flat(110, "c1", 11));
  ds.add(flat(120, "c1", 13, 16));  // another size: compared at the common size
  ds.add(flat(50, "", -1));         // no clip
  ds.add(flat(70, "c2", 3));        // the only frame of its clip
  ds.add(flat(90, "c3", 1));        // a clip that never moves
  ds.add(flat(90, "c3", 2));
  const std::vector<double> m = clip_motion(ds);
  REQUIRE(m.size() == 8);
  CHECK(m[0] == doctest::Approx(1.0));
  CHECK(m[1] == doctest::Approx(0.0));
  CHECK(m[2] == doctest::Approx(1.0 / 3));
  CHECK(m[3] == doctest::Approx(2.0 / 3));
  CHECK(m[4] == 1.0);
  CHECK(m[5] == 1.0);
  CHECK(m[6] == 1.0);
  CHECK(m[7] == 1.0);
  CHECK(moving_frames(ds, 0.5) == std::vector<std::int64_t>{0, 3, 4, 5, 6, 7});
  CHECK(moving_frames(ds, 0.0).size() == 8);
  CHECK(moving_frames(ds, 1.0) == std::vector<std::int64_t>{0, 4, 5, 6, 7});
}

TEST_CASE("clip_motion: unnumbered frames take the dataset's order; colour counts as its gray mean") {
  dataset ds({"a"});
  sample first = flat(0, "c", -1), second = flat(0, "c", -1);
  first.image = image(3, 4, 4, 10.0f);
  second.image = image(3, 4, 4, 10.0f);
  for (std::int64_t i = 0; i < second.image.plane(); ++i) second.image.channel(1)[i] = 40.0f;  // gray mean +10
  ds.add(first);
  ds.add(second);
  const std::vector<double> m = clip_motion(ds);
  CHECK(m[0] == doctest::Approx(0.0));
  CHECK(m[1] == doctest::Approx(1.0));
}

TEST_CASE("clip_motion: on the procedural faces the onset is still and the farthest frame is the apex's") {
  procedural_options o;
  o.subjects = 2;
  o.size = 48;
  const dataset ds = procedural_faces(o);
  const std::vector<double> m = clip_motion(ds);
  for (const clip_spec& clip : plan_clips(o)) {
    CAPTURE(clip.path());
    std::int64_t farthest = -1;
    double top = -1;
    for (std::int64_t i = 0; i < ds.size(); ++i) {
      if (ds[i].clip != clip.path()) continue;
      if (ds[i].frame == clip.onset) CHECK(m[static_cast<std::size_t>(i)] == 0.0);
      if (m[static_cast<std::size_t>(i)] > top) top = m[static_cast<std::size_t>(i)], farthest = ds[i].frame;
    }
    CHECK(top == 1.0);
    CHECK(std::abs(farthest - clip.apex) <= 1);  // sensor noise may pick a neighbour of the apex
  }
  // About half of the frames have moved at least half way: the raised cosine spends half its time above 1/2.
  const double share = static_cast<double>(moving_frames(ds, 0.5).size()) / static_cast<double>(ds.size());
  CHECK(share > 0.4);
  CHECK(share < 0.75);
}

TEST_CASE("moving_frames: a part of the way outside [0, 1] is an error") {
  dataset ds({"a"});
  ds.add(flat(1, "c", 1));
  CHECK(testing::contains(testing::error_of([&] { moving_frames(ds, 1.5); }), "min_motion = 1.5 is outside [0, 1]"));
  CHECK(testing::contains(testing::error_of([&] { moving_frames(ds, -0.1); }), "is outside [0, 1]"));
  CHECK(testing::contains(testing::error_of([&] { moving_frames(ds, std::nan("")); }), "is outside [0, 1]"));
}
