// Tests of data/leakage.hpp: the project's acceptance check ("the leakage report shows ~100% clip overlap for
// the random split and 0% subject overlap for LOSO"), hand-counted reports, unknown ids and the one-line text.
#include <fergen/data/leakage.hpp>
#include <fergen/data/split.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

using namespace fergen;
using data::dataset;

namespace {

std::string subject_name(std::int64_t s) { return "sub0" + std::to_string(s + 1); }

// 6 subjects x 4 clips x 10 frames of 2x2 images: CASME II in miniature.
dataset make_dataset(std::int64_t subjects = 6, std::int64_t clips = 4, std::int64_t frames = 10) {
  dataset ds({"happiness", "surprise", "others"});
  for (std::int64_t s = 0; s < subjects; ++s)
    for (std::int64_t c = 0; c < clips; ++c)
      for (std::int64_t f = 0; f < frames; ++f) {
        data::sample x;
        x.image = data::image(1, 2, 2, static_cast<float>(f));
        x.label = (s + c) % 3;
        x.subject = subject_name(s);
        x.clip = subject_name(s) + "/EP0" + std::to_string(c);
        x.frame = f;
        ds.add(std::move(x));
      }
  return ds;
}

}  // namespace

TEST_CASE("random 80/20 split: ~100% of test frames share a clip with train, 100% a subject") {
  const dataset ds = make_dataset();
  for (const std::uint64_t seed : {0u, 1u, 2u, 3u, 4u}) {
    CAPTURE(seed);
    const data::split s = data::random_split(ds, 0.2, seed);
    const data::leakage_report r = data::measure_leakage(ds, s);
    std::set<std::string> test_clips;
    for (const auto i : s.test) test_clips.insert(ds[i].clip);
    CHECK(r.test == 48);
    CHECK(r.train == 192);
    // A test frame escapes only when all 10 frames of its clip went to test: (48 choose 10) / (240 choose 10)
    // per clip, about 1e-7.
    CHECK(r.clip_overlap >= 0.95);
    CHECK(r.subject_overlap == 1.0);
    CHECK(r.shared_subjects == 6);
    CHECK(r.shared_clips == static_cast<std::int64_t>(test_clips.size()));
    CHECK(r.describe().find("random 80/20: 48 test frames, 192 train; ") == 0);
  }
}

TEST_CASE("clip split: 0% clip overlap, but the test subjects are in train") {
  const dataset ds = make_dataset();
  const data::leakage_report r = data::measure_leakage(ds, data::clip_split(ds, 0.2, 1));
  CHECK(r.clip_overlap == 0.0);
  CHECK(r.shared_clips == 0);
  CHECK(r.subject_overlap > 0.0);
  CHECK(r.shared_subjects > 0);
  CHECK(r.describe().find("0% share a clip with train (0 clips on both sides)") != std::string::npos);
}

TEST_CASE("LOSO and subject k-fold: 0% subject overlap (and so 0% clip overlap)") {
  const dataset ds = make_dataset();
  for (const auto& fold : data::leave_one_subject_out(ds)) {
    CAPTURE(fold.name);
    const data::leakage_report r = data::measure_leakage(ds, fold);
    CHECK(r.subject_overlap == 0.0);
    CHECK(r.clip_overlap == 0.0);
    CHECK(r.shared_subjects == 0);
    CHECK(r.test == 40);
    CHECK(r.describe() == fold.name +
                              ": 40 test frames, 200 train; 0% share a clip with train (0 clips on both sides), 0% "
                              "share a subject (0 subjects on both sides)");
  }
  for (const auto& fold : data::subject_kfold(ds, 3, 2, true)) {
    const data::leakage_report r = data::measure_leakage(ds, fold);
    CHECK(r.subject_overlap == 0.0);
    CHECK(r.clip_overlap == 0.0);
  }
}

TEST_CASE("measure_leakage counts test frames, hand-checked") {
  const dataset ds = make_dataset(2, 2, 3);  // sub01/EP00 = 0..2, sub01/EP01 = 3..5, sub02/EP00 = 6..8, sub02/EP01 = 9..11
  const data::split s{"hand", {0, 1, 3}, {2, 4, 5, 6, 7, 8}};
  const data::leakage_report r = data::measure_leakage(ds, s);
  CHECK(r.train == 3);
  CHECK(r.test == 6);
  CHECK(r.clip_overlap == doctest::Approx(0.5));  // 2, 4 and 5 share a clip; 6, 7, 8 do not
  CHECK(r.shared_clips == 2);
  CHECK(r.subject_overlap == doctest::Approx(0.5));  // 2, 4, 5 are sub01, in train; sub02 is not
  CHECK(r.shared_subjects == 1);
  CHECK(r.describe() == "hand: 6 test frames, 3 train; 50.0% share a clip with train (2 clips on both sides), 50.0% "
                        "share a subject (1 subject on both sides)");
}

TEST_CASE("unknown ids are reported as unknown, not as 0%") {
  dataset ds = make_dataset(2, 2, 3);
  for (std::int64_t i = 0; i < ds.size(); ++i) ds[i].clip.clear();
  const data::split s{"random 50/50", {0, 1, 2, 9, 10, 11}, {3, 4, 5, 6, 7, 8}};
  const data::leakage_report r = data::measure_leakage(ds, s);
  CHECK(std::isnan(r.clip_overlap));
  CHECK(r.frames_without_clip == 12);
  CHECK(r.subject_overlap == 1.0);
  CHECK(r.describe() == "random 50/50: 6 test frames, 6 train; clip overlap unknown (12 frames without a clip id), "
                        "100% share a subject (2 subjects on both sides)");

  // Some ids missing: the fraction is over the test frames that have one, and the text says how many did not.
  dataset partial = make_dataset(2, 2, 3);
  partial[8].subject.clear();
  const data::leakage_report p = data::measure_leakage(partial, {"partial", {0, 1, 2}, {3, 4, 5, 6, 7, 8}});
  CHECK(p.subject_overlap == doctest::Approx(0.6));  // 3, 4, 5 of the five test frames with a subject
  CHECK(p.frames_without_subject == 1);
  CHECK(p.describe().find("60.0% share a subject (1 subject on both sides; 1 frame without a subject id not counted)") !=
        std::string::npos);

  // No train frame with an id: nothing to match against, so unknown too.
  dataset none = make_dataset(2, 2, 3);
  for (const std::int64_t i : {0, 1, 2}) none[i].subject.clear();
  CHECK(std::isnan(data::measure_leakage(none, {"x", {0, 1, 2}, {3, 4}}).subject_overlap));
}

TEST_CASE("percentages: exact 0 and 100 only when exact") {
  using data::detail::percent;
  CHECK(percent(0.0) == "0%");
  CHECK(percent(1.0) == "100%");
  CHECK(percent(0.998) == "99.8%");
  CHECK(percent(0.99996) == ">99.9%");
  CHECK(percent(0.00001) == "<0.1%");
  CHECK(percent(0.5) == "50.0%");
}

TEST_CASE("measure_leakage rejects indices outside the dataset") {
  const dataset ds = make_dataset(1, 1, 3);
  CHECK_THROWS_WITH_AS(data::measure_leakage(ds, {"bad", {0, 1}, {3}}),
                       doctest::Contains("split 'bad' has test index 3, outside the dataset's [0, 3)"), error);
  CHECK_THROWS_WITH_AS(data::measure_leakage(ds, {"bad", {-1}, {2}}), doctest::Contains("train index -1"), error);
}
