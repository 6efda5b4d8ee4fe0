// Tests of data/face_model.hpp and data/procedural_faces.hpp: the face model, the built-in dataset drawn from
// it, and its CASME II tree on disk read back by the real-data loader.
#include <fergen/data/casme2.hpp>
#include <fergen/data/csv.hpp>
#include <fergen/data/face_model.hpp>
#include <fergen/data/image_io.hpp>
#include <fergen/data/procedural_faces.hpp>

#include <omp.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using namespace fergen;
using data::action_unit;

namespace {

namespace fs = std::filesystem;

struct scratch_dir {
  fs::path path;
  scratch_dir() {
    path = fs::temp_directory_path() / ("fergen-test-procedural-faces-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~scratch_dir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
};

doctest::Contains contains(const std::string& text) { return doctest::Contains(text.c_str()); }

// Mean and largest absolute difference between two images of one shape, and the root mean square.
struct difference {
  double mean = 0, max = 0, rms = 0;
};
difference compare(const data::image& a, const data::image& b) {
  REQUIRE(a.pixels.size() == b.pixels.size());
  difference d;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) {
    const double e = static_cast<double>(a.pixels[i]) - static_cast<double>(b.pixels[i]);
    d.mean += std::abs(e);
    d.rms += e * e;
    d.max = std::max(d.max, std::abs(e));
  }
  d.mean /= static_cast<double>(a.pixels.size());
  d.rms = std::sqrt(d.rms / static_cast<double>(a.pixels.size()));
  return d;
}

bool same_samples(const data::dataset& a, const data::dataset& b) {
  if (a.size() != b.size() || a.class_names() != b.class_names()) return false;
  for (std::int64_t i = 0; i < a.size(); ++i)
    if (!(a[i].image == b[i].image) || a[i].label != b[i].label || a[i].subject != b[i].subject ||
        a[i].clip != b[i].clip || a[i].frame != b[i].frame || a[i].source != b[i].source)
      return false;
  return true;
}

// Restores one OpenMP thread (what ctest gives every test) however the test leaves.
struct threads {
  explicit threads(int n) { omp_set_num_threads(n); }
  ~threads() { omp_set_num_threads(1); }
};

}  // namespace

TEST_CASE("study classes: the study's seven, in its order, with the CASME II sheet's spelling") {
  const std::vector<std::string> expected{"happiness", "sadness", "surprise", "disgust", "fear", "repression", "others"};
  CHECK(data::study_classes() == expected);
  CHECK(data::study_classes() == data::casme2_class_names(data::casme2_labels::study7));
  CHECK(static_cast<std::size_t>(data::study_class_count) == expected.size());
}

TEST_CASE("expression: each class's action units, as FACS codes them") {
  const std::vector<std::string> codes{"6+12", "1+4+15", "1+2+5+26", "4+9+10", "1+2+4+5+20", "14+17+24", "4+7"};
  for (std::int64_t c = 0; c < data::study_class_count; ++c) {
    CAPTURE(c);
    const data::action_units u = data::expression(c, 0.5);
    CHECK(data::facs_code(u) == codes[static_cast<std::size_t>(c)]);
    for (int a = 0; a < data::action_unit_count; ++a) {
      CHECK((u.right[static_cast<std::size_t>(a)] == 0.0 || u.right[static_cast<std::size_t>(a)] == 0.5));
      CHECK(u.right[static_cast<std::size_t>(a)] == u.left[static_cast<std::size_t>(a)]);
    }
  }
  CHECK(data::expression(3, 0.0).neutral());
  CHECK_THROWS_WITH_AS(data::expression(7, 0.5), contains("label 7"), error);
  CHECK_THROWS_WITH_AS(data::expression(-1, 0.5), contains("label -1"), error);
  CHECK_THROWS_WITH_AS(data::expression(0, 1.5), contains("intensity 1.5"), error);
  CHECK_THROWS_WITH_AS(data::expression(0, std::nan("")), contains("intensity"), error);
}

TEST_CASE("expression with jitter: core units always there at 74-100%, optional ones sometimes, others varied") {
  std::map<std::string, int> others;
  std::map<std::int64_t, std::set<std::string>> codes;
  for (std::uint64_t k = 0; k < 400; ++k) {
    const random_stream jitter{7, k};
    for (std::int64_t c = 0; c < data::study_class_count; ++c) {
      const data::action_units prototype = data::expression(c, 1.0);
      const data::action_units u = data::expression(c, 0.6, jitter);
      codes[c].insert(data::facs_code(u));
      if (c == 6) {
        ++others[data::facs_code(u)];
        continue;
      }
      for (int a = 0; a < data::action_unit_count; ++a) {
        const auto au = static_cast<action_unit>(a);
        if (prototype.mean(au) == 0) continue;
        for (const double v : {u.on_right(au), u.on_left(au)}) {
          CHECK(v >= 0.6 * 0.8 * 0.92 - 1e-12);
          CHECK(v <= 0.6 + 1e-12);
        }
      }
    }
  }
  // Optional units: happiness sometimes parts the lips, disgust sometimes tightens the lids.
  CHECK(codes[0] == std::set<std::string>{"6+12", "6+12+25"});
  CHECK(codes[3] == std::set<std::string>{"4+9+10", "4+7+9+10"});
  CHECK(codes[2] == std::set<std::string>{"1+2+5+26"});
  // "others" takes every variant, on either side, each in a fair share of clips.
  CHECK(others.size() == 6);
  for (const std::string code : {"4+7", "45", "L12", "R12", "L2", "R2"}) {
    CAPTURE(code);
    CHECK(others[code] > 25);
  }
  // The same stream gives the same expression.
  CHECK(data::expression(4, 0.7, random_stream{3, 9}) == data::expression(4, 0.7, random_stream{3, 9}));
  CHECK_FALSE(data::expression(4, 0.7, random_stream{3, 9}) == data::expression(4, 0.7, random_stream{3, 10}));
}

TEST_CASE("facs_code: units in FACS order, one-sided units with their side") {
  data::action_units u;
  CHECK(data::facs_code(u).empty());
  u.set(action_unit::au12, 0.5, 0.0);
  CHECK(data::facs_code(u) == "R12");
  u.set(action_unit::au12, 0.0, 0.5);
  CHECK(data::facs_code(u) == "L12");
  u.set(action_unit::au6, 0.3);
  u.set(action_unit::au45, 0.2);
  CHECK(data::facs_code(u) == "6+L12+45");
  CHECK(data::facs_number(action_unit::au26) == 26);
  CHECK(std::string(data::facs_name(action_unit::au9)) == "nose wrinkler");
}

TEST_CASE("draw_identity: a pure function of seed and subject, and subjects look different") {
  CHECK(data::draw_identity(5, 3).face_width == data::draw_identity(5, 3).face_width);
  CHECK(data::draw_identity(5, 3).skin != data::draw_identity(6, 3).skin);
  CHECK_THROWS_WITH_AS(data::draw_identity(5, 0), contains("subject 0"), error);

  // Two subjects' neutral faces differ far more than one subject's face differs from itself under the
  // head motion and noise of its clips.
  data::procedural_options o;
  std::vector<data::image> neutral;
  for (std::int64_t s = 1; s <= o.subjects; ++s) neutral.push_back(data::render_face(data::draw_identity(o.seed, s), {}, {}, o.size));
  double closest = 1e9;
  for (std::size_t i = 0; i < neutral.size(); ++i)
    for (std::size_t j = 0; j < i; ++j) closest = std::min(closest, compare(neutral[i], neutral[j]).mean);
  double within = 0;
  for (const auto& clip : data::plan_clips(o)) {
    const auto who = data::draw_identity(o.seed, clip.subject);
    within = std::max(within, compare(data::render_frame(o, who, clip, clip.onset), neutral[static_cast<std::size_t>(clip.subject - 1)]).mean);
  }
  CAPTURE(closest);
  CAPTURE(within);
  CHECK(closest > 8.0);
  CHECK(closest > 2.5 * within);
}

TEST_CASE("render_face: size, range, every action unit moves the face, sides are the subject's") {
  const data::face_identity who = data::draw_identity(2026, 4);
  const data::image neutral = data::render_face(who, {}, {}, 64);
  CHECK(neutral.channels == 1);
  CHECK(neutral.height == 64);
  CHECK(neutral.width == 64);
  CHECK(*std::min_element(neutral.pixels.begin(), neutral.pixels.end()) >= 0.0f);
  CHECK(*std::max_element(neutral.pixels.begin(), neutral.pixels.end()) <= 255.0f);
  CHECK(data::render_face(who, {}, {}, 64) == neutral);
  CHECK(data::render_face(who, {}, {}, 48).width == 48);

  for (int a = 0; a < data::action_unit_count; ++a) {
    const auto au = static_cast<action_unit>(a);
    CAPTURE(data::facs_number(au));
    data::action_units u;
    u.set(au, 1.0);
    const data::image moved = data::render_face(who, u, {}, 64);
    // Summed over the image: at least a few pixels' worth of full contrast.
    CHECK(compare(moved, neutral).mean * 64 * 64 > 400.0);
    // Half the intensity moves the face part of the way: the deformation is continuous.
    u.set(au, 0.5);
    const double half = compare(data::render_face(who, u, {}, 64), neutral).mean;
    CHECK(half > 0.15 * compare(moved, neutral).mean);
    CHECK(half < 0.85 * compare(moved, neutral).mean);
  }

  // R12 lifts the subject's right lip corner: the left half of the image.
  data::action_units right;
  right.set(action_unit::au12, 1.0, 0.0);
  const data::image smirk = data::render_face(who, right, {}, 64);
  double left_half = 0, right_half = 0;
  for (std::int64_t y = 0; y < 64; ++y)
    for (std::int64_t x = 0; x < 64; ++x)
      (x < 32 ? left_half : right_half) += std::abs(smirk.at(0, y, x) - neutral.at(0, y, x));
  CHECK(left_half > 5.0 * right_half);

  data::action_units bad;
  bad.set(action_unit::au12, 0.0, 1.5);
  CHECK_THROWS_WITH_AS(data::render_face(who, bad, {}, 64), contains("AU12"), error);
  CHECK_THROWS_WITH_AS(data::render_face(who, {}, {}, 4), contains("size 4"), error);
  CHECK_THROWS_WITH_AS(data::render_face(who, {}, data::head_pose{std::nan(""), 0, 0}, 64), contains("head pose"), error);
  data::face_identity flat = who;
  flat.face_width = 0;
  CHECK_THROWS_WITH_AS(data::render_face(flat, {}, {}, 64), contains("face_identity.face_width = 0"), error);
  flat = who;
  flat.skin = std::nan("");
  CHECK_THROWS_WITH_AS(data::render_face(flat, {}, {}, 64), contains("not finite"), error);
}

TEST_CASE("render_face: the head pose moves the face by sub-pixel steps, smoothly (anti-aliased)") {
  const data::face_identity who = data::draw_identity(2026, 2);
  const data::image still = data::render_face(who, {}, {}, 64);
  // One pixel right: the face's pixels are the still face's, one column over (the wall behind stays).
  const data::image shifted = data::render_face(who, {}, data::head_pose{1.0, 0.0, 0.0}, 64);
  double worst = 0;
  for (std::int64_t y = 20; y < 44; ++y)
    for (std::int64_t x = 20; x < 44; ++x) worst = std::max(worst, static_cast<double>(std::abs(shifted.at(0, y, x + 1) - still.at(0, y, x))));
  CHECK(worst < 0.01);
  // A quarter pixel changes edges by a fraction of their contrast, not by all of it.
  const difference quarter = compare(data::render_face(who, {}, data::head_pose{0.25, 0.0, 0.0}, 64), still);
  const difference whole = compare(shifted, still);
  CHECK(quarter.mean > 0.1 * whole.mean);
  CHECK(quarter.mean < 0.45 * whole.mean);
  CHECK(quarter.max < 0.5 * whole.max);
  // Half a degree of roll is small too.
  CHECK(compare(data::render_face(who, {}, data::head_pose{0.0, 0.0, 0.5}, 64), still).mean < whole.mean);
}

TEST_CASE("photograph: Gaussian sensor noise from the frame's stream, blur, 8-bit values") {
  const random_stream stream{11, 5};
  double block[4];
  for (std::uint64_t b = 0; b < 4; ++b) {
    data::detail::normal_block(stream, b, block);
    for (std::uint64_t k = 0; k < 4; ++k) CHECK(block[k] == stream.normal(4 * b + k));
  }
  data::image flat(1, 64, 64, 100.25f);
  const data::image clean = data::photograph(flat, 0.0, 0.0, stream);
  CHECK(std::all_of(clean.pixels.begin(), clean.pixels.end(), [](float v) { return v == 100.0f; }));
  CHECK(data::photograph(flat, 1.5, 0.0, stream) == clean);  // blur keeps a flat image flat
  const data::image noisy = data::photograph(flat, 0.0, 3.0, stream);
  const difference d = compare(noisy, flat);
  CHECK(d.rms == doctest::Approx(3.0).epsilon(0.08));
  CHECK(std::all_of(noisy.pixels.begin(), noisy.pixels.end(), [](float v) { return v == std::round(v); }));
  // Blur spreads an edge over neighbouring pixels.
  data::image edge(1, 16, 16, 0.0f);
  for (std::int64_t y = 0; y < 16; ++y)
    for (std::int64_t x = 8; x < 16; ++x) edge.at(0, y, x) = 200.0f;
  const data::image soft = data::photograph(edge, 1.0, 0.0, stream);
  CHECK(soft.at(0, 8, 7) > 20.0f);
  CHECK(soft.at(0, 8, 8) < 180.0f);
  CHECK(soft.at(0, 8, 0) == 0.0f);
}

TEST_CASE("procedural_faces: subjects x classes x clips, frames numbered from onset to offset") {
  const data::procedural_options o;
  const data::dataset faces = data::procedural_faces(o);
  const auto clips = data::plan_clips(o);
  CHECK(faces.class_names() == data::study_classes());
  REQUIRE(clips.size() == static_cast<std::size_t>(o.subjects * data::study_class_count * o.clips_per_class));
  CHECK(faces.subjects() == std::vector<std::string>{"sub01", "sub02", "sub03", "sub04", "sub05", "sub06", "sub07",
                                                     "sub08", "sub09", "sub10"});
  CHECK(faces.clips().size() == clips.size());

  std::vector<std::int64_t> counts(7, 0);
  std::map<std::string, std::set<std::int64_t>> classes_of_subject;
  std::set<std::string> paths;
  std::int64_t i = 0;
  for (const auto& clip : clips) {
    CAPTURE(clip.path());
    CHECK(clip.onset >= 1);
    CHECK(clip.onset < clip.apex);
    CHECK(clip.apex < clip.offset);
    CHECK(clip.frames() >= o.min_frames);
    CHECK(clip.frames() <= o.max_frames);
    CHECK(paths.insert(clip.path()).second);
    CHECK(clip.name.rfind("EP", 0) == 0);
    CHECK(clip.apex_units == clip.coded.scaled(o.amplitude));
    classes_of_subject[data::subject_name(clip.subject)].insert(clip.label);
    counts[static_cast<std::size_t>(clip.label)] += clip.frames();
    for (std::int64_t f = clip.onset; f <= clip.offset; ++f, ++i) {
      REQUIRE(i < faces.size());
      const data::sample& s = faces[i];
      CHECK(s.label == clip.label);
      CHECK(s.subject == data::subject_name(clip.subject));
      CHECK(s.clip == clip.path());
      CHECK(s.frame == f);
      CHECK(s.source.empty());
      CHECK(s.image.channels == 1);
      CHECK(s.image.height == o.size);
      CHECK(s.image.width == o.size);
    }
  }
  CHECK(i == faces.size());
  CHECK(faces.class_counts() == counts);
  for (const auto& [subject, labels] : classes_of_subject) CHECK(labels.size() == 7);
  for (const auto& s : faces)
    CHECK(std::all_of(s.image.pixels.begin(), s.image.pixels.end(),
                      [](float v) { return v >= 0.0f && v <= 255.0f && v == std::round(v); }));

  data::procedural_options small;
  small.subjects = 2;
  small.clips_per_class = 3;
  small.min_frames = small.max_frames = 3;
  small.size = 32;
  const data::dataset three = data::procedural_faces(small);
  CHECK(three.size() == 2 * 7 * 3 * 3);
  CHECK(three[0].image.width == 32);
  CHECK(three.clips().size() == 42);
}

TEST_CASE("procedural_faces: same seed same bits, another seed other faces, any thread count") {
  data::procedural_options o;
  o.subjects = 4;
  const data::dataset a = data::procedural_faces(o);
  CHECK(same_samples(a, data::procedural_faces(o)));
  {
    threads two(2);
    CHECK(same_samples(a, data::procedural_faces(o)));
  }
  o.seed = 2027;
  const data::dataset b = data::procedural_faces(o);
  REQUIRE(b.size() > 0);
  CHECK_FALSE(compare(a[0].image, b[0].image).mean < 1.0);

  // A clip depends on (seed, subject, class, take) only: more subjects leave the first ones unchanged.
  o.seed = 2026;
  o.subjects = 2;
  const data::dataset fewer = data::procedural_faces(o);
  REQUIRE(fewer.size() < a.size());
  for (std::int64_t i = 0; i < fewer.size(); ++i) {
    CHECK(fewer[i].image == a[i].image);
    CHECK(fewer[i].clip == a[i].clip);
  }
}

TEST_CASE("procedural_faces: CASME II-shaped class imbalance") {
  data::procedural_options o;
  o.casme_imbalance = true;
  const auto clips = data::plan_clips(o);
  std::vector<std::int64_t> per_class(7, 0);
  std::set<std::string> paths;
  for (const auto& c : clips) {
    ++per_class[static_cast<std::size_t>(c.label)];
    CHECK(paths.insert(c.path()).second);
  }
  // Class c gets max(1, round(70 x CASME II's share)): 9 2 7 17 1 7 27.
  CHECK(per_class == std::vector<std::int64_t>{9, 2, 7, 17, 1, 7, 27});
  // Sorted by subject, then class; some subjects lack some classes, as in CASME II.
  CHECK(std::is_sorted(clips.begin(), clips.end(), [](const auto& x, const auto& y) {
    return std::tie(x.subject, x.label, x.take) < std::tie(y.subject, y.label, y.take);
  }));
  const data::dataset faces = data::procedural_faces(o);
  CHECK(faces.clips().size() == clips.size());
  const auto counts = faces.class_counts();
  CHECK(counts[6] > counts[3]);
  CHECK(counts[3] > counts[0]);
  CHECK(counts[4] < counts[1] + 20);
}

TEST_CASE("clips: the expression rises from neutral at onset to the apex and falls back at offset") {
  data::procedural_options o;
  const auto clips = data::plan_clips(o);
  const data::dataset faces = data::procedural_faces(o);
  std::int64_t first = 0;
  for (const auto& clip : clips) {
    CAPTURE(clip.path());
    CHECK(data::intensity_at(clip, clip.onset) == 0.0);
    CHECK(data::intensity_at(clip, clip.apex) == 1.0);
    CHECK(std::abs(data::intensity_at(clip, clip.offset)) < 1e-12);
    for (std::int64_t f = clip.onset; f < clip.offset; ++f) {
      if (f < clip.apex) CHECK(data::intensity_at(clip, f) < data::intensity_at(clip, f + 1));
      else CHECK(data::intensity_at(clip, f) > data::intensity_at(clip, f + 1));
    }
    CHECK(data::units_at(clip, clip.onset).neutral());

    // In pixels: the apex is the frame farthest from the onset frame. With noise, frames next to the apex
    // (intensity 0.95 and more) can tie with it, so the dataset's frames are held to within a few percent;
    // the expression alone, drawn without noise or head motion, peaks exactly at the apex.
    const data::face_identity who = data::draw_identity(o.seed, clip.subject);
    const data::image& onset = faces[first].image;
    const data::image still = data::render_face(who, {}, {}, o.size);
    std::vector<double> noisy, clean;
    for (std::int64_t f = clip.onset; f <= clip.offset; ++f) {
      noisy.push_back(compare(faces[first + f - clip.onset].image, onset).rms);
      clean.push_back(compare(data::render_face(who, data::units_at(clip, f), {}, o.size), still).rms);
    }
    const auto apex = static_cast<std::size_t>(clip.apex - clip.onset);
    CHECK(noisy[apex] >= 0.95 * *std::max_element(noisy.begin(), noisy.end()));
    // Onset and offset differ by noise alone (two frames' noise and rounding: the floor); what the next frame
    // and the offset frame add above that floor is small next to what the apex adds.
    const double floor = 2.0 * (o.noise * o.noise + 1.0 / 12.0);
    const auto excess = [&](std::size_t k) { return noisy[k] * noisy[k] - floor; };
    CHECK(excess(noisy.size() - 1) < 0.3 * excess(apex));
    CHECK(excess(1) < 0.3 * excess(apex));
    CHECK(std::max_element(clean.begin(), clean.end()) - clean.begin() == static_cast<std::ptrdiff_t>(apex));
    for (std::size_t k = 0; k < apex; ++k) CHECK(clean[k] < clean[k + 1]);
    for (std::size_t k = apex; k + 1 < clean.size(); ++k) CHECK(clean[k] > clean[k + 1]);

    // Onset and offset show the neutral face, moved by the head pose, plus sensor noise: what is left after
    // subtracting the neutral face drawn at that pose is noise (and its 8-bit rounding), and at the apex it
    // is the expression.
    for (const std::int64_t f : {clip.onset, clip.offset}) {
      const difference residual =
          compare(faces[first + f - clip.onset].image, data::render_face(who, {}, data::pose_at(clip, f), o.size));
      CHECK(residual.rms > 0.85 * o.noise);
      CHECK(residual.rms < 1.15 * std::sqrt(o.noise * o.noise + 1.0 / 12.0));
      CHECK(residual.max < 6.0 * o.noise + 1.0);
    }
    const difference expressed =
        compare(faces[first + clip.apex - clip.onset].image, data::render_face(who, {}, data::pose_at(clip, clip.apex), o.size));
    CHECK(expressed.rms > 1.5 * o.noise);
    first += clip.frames();
  }
  CHECK_THROWS_WITH_AS(data::intensity_at(clips[0], clips[0].offset + 1), contains("outside clip sub01/"), error);
  CHECK_THROWS_WITH_AS(data::pose_at(clips[0], clips[0].onset - 1), contains("outside clip"), error);
}

TEST_CASE("classes are told apart at the apex by a nearest-centroid classifier across subjects") {
  // The guard against classes that look alike: apex frames minus the subject's neutral face (drawn without
  // expression, head motion or noise), class centroids from half of the subjects, tested on the other half
  // (subject-independent). Chance is 1/7; the default face model scores above 0.9 over many seeds.
  data::procedural_options o;
  o.subjects = 12;
  o.clips_per_class = 3;
  const auto clips = data::plan_clips(o);
  const auto pixels = static_cast<std::size_t>(o.size * o.size);
  std::vector<std::vector<double>> centroid(7, std::vector<double>(pixels, 0.0));
  std::vector<double> members(7, 0.0);
  std::vector<std::pair<std::vector<double>, std::int64_t>> test;
  for (const auto& clip : clips) {
    const data::face_identity who = data::draw_identity(o.seed, clip.subject);
    const data::image apex = data::render_frame(o, who, clip, clip.apex);
    const data::image neutral = data::render_face(who, {}, {}, o.size);
    std::vector<double> change(pixels);
    for (std::size_t i = 0; i < pixels; ++i) change[i] = static_cast<double>(apex.pixels[i]) - static_cast<double>(neutral.pixels[i]);
    if (clip.subject <= o.subjects / 2) {
      for (std::size_t i = 0; i < pixels; ++i) centroid[static_cast<std::size_t>(clip.label)][i] += change[i];
      members[static_cast<std::size_t>(clip.label)] += 1;
    } else {
      test.emplace_back(std::move(change), clip.label);
    }
  }
  for (std::size_t c = 0; c < 7; ++c)
    for (auto& v : centroid[c]) v /= members[c];
  std::vector<std::vector<int>> confusion(7, std::vector<int>(7, 0));
  int correct = 0;
  for (const auto& [change, label] : test) {
    std::size_t best = 0;
    double best_distance = 1e300;
    for (std::size_t c = 0; c < 7; ++c) {
      double d = 0;
      for (std::size_t i = 0; i < pixels; ++i) d += (change[i] - centroid[c][i]) * (change[i] - centroid[c][i]);
      if (d < best_distance) best_distance = d, best = c;
    }
    ++confusion[static_cast<std::size_t>(label)][best];
    correct += static_cast<std::int64_t>(best) == label;
  }
  std::string table;
  for (const auto& row : confusion) {
    for (const int n : row) table += str(" ", n);
    table += "\n";
  }
  INFO("confusion (rows: true class, columns: predicted):\n", table);
  const double accuracy = static_cast<double>(correct) / static_cast<double>(test.size());
  CAPTURE(accuracy);
  CHECK(test.size() == 126);
  CHECK(accuracy >= 0.8);
  // And no class is lost: each is recognised in at least a third of its test clips (others, a mixture of
  // unrelated small movements, is the hardest, as in CASME II).
  for (std::size_t c = 0; c < 7; ++c) CHECK(confusion[c][c] >= 6);
}

TEST_CASE("write_casme2_tree: CASME II's layout and coding sheet, read back by load_casme2") {
  scratch_dir dir;
  data::procedural_options o;
  o.subjects = 2;
  o.min_frames = 3;
  o.max_frames = 5;
  data::write_casme2_tree(o, dir.path);
  const auto clips = data::plan_clips(o);

  const data::csv_rows sheet = data::read_csv(dir.path / "coding.csv");
  REQUIRE(sheet.size() == clips.size() + 1);
  CHECK(sheet[0] == std::vector<std::string>{"Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units",
                                             "Estimated Emotion"});
  CHECK(sheet == data::casme2_coding_rows(clips));
  for (std::size_t i = 0; i < clips.size(); ++i) {
    const auto& row = sheet[i + 1];
    CHECK(row[0] == std::to_string(clips[i].subject));
    CHECK(row[1] == clips[i].name);
    CHECK(row[2] == std::to_string(clips[i].onset));
    CHECK(row[3] == std::to_string(clips[i].apex));
    CHECK(row[4] == std::to_string(clips[i].offset));
    CHECK(row[5] == data::facs_code(clips[i].coded));
    CHECK(row[6] == data::study_classes()[static_cast<std::size_t>(clips[i].label)]);
    for (std::int64_t f = clips[i].onset; f <= clips[i].offset; ++f)
      CHECK(fs::is_regular_file(dir.path / "Cropped" / data::subject_name(clips[i].subject) / clips[i].name /
                                ("reg_img" + std::to_string(f) + ".jpg")));
  }
  CHECK(sheet[1][0] == "1");

  // The loader of the real data reads it as the same dataset, within JPEG's loss.
  const data::dataset faces = data::procedural_faces(o);
  data::casme2_options load;
  load.root = dir.path / "Cropped";
  load.sheet = dir.path / "coding.csv";
  load.height = load.width = 0;
  data::casme2_report report;
  const data::dataset loaded = data::load_casme2(load, &report);
  CHECK(report.layout == "cropped");
  CHECK(report.missing_frames == 0);
  REQUIRE(loaded.size() == faces.size());
  CHECK(loaded.class_names() == faces.class_names());
  for (std::int64_t i = 0; i < faces.size(); ++i) {
    CAPTURE(loaded[i].source);
    CHECK(loaded[i].label == faces[i].label);
    CHECK(loaded[i].subject == faces[i].subject);
    CHECK(loaded[i].clip == faces[i].clip);
    CHECK(loaded[i].frame == faces[i].frame);
    const difference d = compare(loaded[i].image, faces[i].image);
    CHECK(d.mean < 1.5);
    CHECK(d.max < 24.0);
  }
  // A JPEG decodes to its frame too when read on its own.
  const auto& c0 = clips[0];
  const data::image jpeg = data::load_image(dir.path / "Cropped" / "sub01" / c0.name / ("reg_img" + std::to_string(c0.apex) + ".jpg"),
                                            data::color_mode::gray);
  CHECK(compare(jpeg, faces[c0.apex - c0.onset].image).mean < 1.5);

  CHECK_THROWS_WITH_AS(data::write_casme2_tree(o, dir.path / "coding.csv" / "below"), contains("coding.csv"), error);
}

TEST_CASE("procedural options: a bad value is an error naming the option") {
  const auto rejects = [](auto change, const std::string& option) {
    CAPTURE(option);
    data::procedural_options o;
    change(o);
    CHECK_THROWS_WITH_AS(data::procedural_faces(o), contains("option " + option), error);
    CHECK_THROWS_WITH_AS(data::plan_clips(o), contains("option " + option), error);
  };
  rejects([](auto& o) { o.subjects = 0; }, "subjects = 0");
  rejects([](auto& o) { o.subjects = 10000; }, "subjects = 10000");
  rejects([](auto& o) { o.clips_per_class = 0; }, "clips_per_class = 0");
  rejects([](auto& o) { o.min_frames = 2; }, "min_frames = 2");
  rejects([](auto& o) { o.min_frames = 12, o.max_frames = 10; }, "min_frames = 12 is greater than max_frames = 10");
  rejects([](auto& o) { o.max_frames = 1000000; }, "max_frames = 1000000");
  rejects([](auto& o) { o.size = 15; }, "size = 15");
  rejects([](auto& o) { o.amplitude = -0.1; }, "amplitude = -0.1");
  rejects([](auto& o) { o.amplitude = 1.5; }, "amplitude = 1.5");
  rejects([](auto& o) { o.noise = -1; }, "noise = -1");
  rejects([](auto& o) { o.noise = std::nan(""); }, "noise = nan");
  rejects([](auto& o) { o.blur = -0.5; }, "blur = -0.5");
  scratch_dir dir;
  data::procedural_options o;
  o.size = 8;
  CHECK_THROWS_WITH_AS(data::write_casme2_tree(o, dir.path), contains("option size = 8"), error);
  CHECK(fs::is_empty(dir.path));
}
