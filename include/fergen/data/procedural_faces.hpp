// fergen/data/procedural_faces.hpp: a built-in, CASME II-shaped micro-expression dataset drawn from the face
// model, and a writer that lays it out on disk as a CASME II tree with its coding sheet.
//
// It is the default dataset of `fergen demo` and of the tests: subjects with distinct faces, clips of the
// study's seven classes with onset, apex and offset frames, an expression that rises and falls between
// them, small head motion and sensor noise. Nothing is downloaded and everything follows from the seed.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/parallel.hpp>
#include <fergen/core/rng.hpp>
#include <fergen/data/csv.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/face_model.hpp>
#include <fergen/data/image.hpp>
#include <fergen/data/image_io.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <numeric>
#include <system_error>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace data {

// The study's seven classes, in the order of its tables; labels index this list.
inline const std::vector<std::string>& study_classes() {
  static const std::vector<std::string> names{"happiness", "sadness", "surprise", "disgust",
                                               "fear",      "repression", "others"};
  return names;
}
inline constexpr std::int64_t study_class_count = 7;

// CASME II's clips per class under the study's seven labels (255 clips): the shape of casme_imbalance.
inline constexpr std::array<std::int64_t, study_class_count> casme2_clip_counts = {32, 7, 25, 63, 2, 27, 99};

struct procedural_options {
  std::int64_t subjects = 10;        // sub01 .. subNN
  std::int64_t clips_per_class = 1;  // per subject, or on average with casme_imbalance
  bool casme_imbalance = false;      // class sizes shaped like CASME II's (many others and disgust, few fear)
  std::int64_t min_frames = 9;       // frames from onset to offset, both included
  std::int64_t max_frames = 15;
  std::int64_t size = 64;            // rendered width and height in pixels
  double amplitude = 0.8;            // action-unit intensity at the apex, 0..1, before per-clip jitter: moderate,
                                     // yet the seven classes stay apart at the apex (the tests check it)
  double noise = 2.0;                // sensor noise, standard deviation in gray levels
  double blur = 0.0;                 // optical blur, Gaussian standard deviation in pixels
  std::uint64_t seed = 2026;
};

// Every option in range, or a fergen::error naming the option and its value. The upper limits come from the
// layout of the random stream ids (face_stream_id) and the sheet format, and keep a typo from asking for
// terabytes.
inline void check_options(const procedural_options& o) {
  const auto check = [](bool ok, const char* option, auto value, const char* why) {
    if (!ok) fail("procedural_faces: option ", option, " = ", value, " ", why);
  };
  check(o.subjects >= 1 && o.subjects <= 9999, "subjects", o.subjects, "is outside [1, 9999] (CASME II sheets number subjects up to 9999)");
  check(o.clips_per_class >= 1 && o.clips_per_class <= 4096, "clips_per_class", o.clips_per_class, "is outside [1, 4096]");
  check(o.min_frames >= 3, "min_frames", o.min_frames, "is below 3 (onset, apex and offset must be different frames)");
  check(o.max_frames <= 100000, "max_frames", o.max_frames, "is above 100000");
  if (o.min_frames > o.max_frames)
    fail("procedural_faces: option min_frames = ", o.min_frames, " is greater than max_frames = ", o.max_frames);
  check(o.size >= 16 && o.size <= 1024, "size", o.size, "is outside [16, 1024]");
  check(std::isfinite(o.amplitude) && o.amplitude >= 0.0 && o.amplitude <= 1.0, "amplitude", o.amplitude,
        "is outside [0, 1]");
  check(std::isfinite(o.noise) && o.noise >= 0.0 && o.noise <= 255.0, "noise", o.noise, "is outside [0, 255]");
  check(std::isfinite(o.blur) && o.blur >= 0.0 && o.blur <= 16.0, "blur", o.blur, "is outside [0, 16]");
}

// --- Expressions --------------------------------------------------------------------------------------------

namespace detail {

struct expression_recipe {
  std::vector<action_unit> core;      // always present
  std::vector<action_unit> optional;  // present in some clips, weaker
  std::vector<action_unit> one_side;  // of core: on one side only
};

// "others" is not one expression: in CASME II it collects whatever fits no emotion. Its clips take one of
// these variants: a frown with narrowed eyes, a blink, a half smile, one brow raised.
inline constexpr std::int64_t others_variants = 4;

inline expression_recipe class_recipe(std::int64_t label, std::int64_t variant) {
  using au = action_unit;
  switch (label) {
    case 0: return {{au::au6, au::au12}, {au::au25}, {}};                             // happiness
    case 1: return {{au::au1, au::au4, au::au15}, {au::au17}, {}};                    // sadness
    case 2: return {{au::au1, au::au2, au::au5, au::au26}, {}, {}};                   // surprise
    case 3: return {{au::au4, au::au9, au::au10}, {au::au7}, {}};                     // disgust
    case 4: return {{au::au1, au::au2, au::au4, au::au5, au::au20}, {au::au25}, {}};  // fear
    case 5: return {{au::au14, au::au17, au::au24}, {}, {}};                          // repression
    default:                                                                          // others
      switch (variant) {
        case 0: return {{au::au4, au::au7}, {}, {}};
        case 1: return {{au::au45}, {}, {}};
        case 2: return {{au::au12}, {}, {au::au12}};
        default: return {{au::au2}, {}, {au::au2}};
      }
  }
}

inline action_units make_expression(std::int64_t label, double intensity, const random_stream* jitter) {
  require(label >= 0 && label < study_class_count, "expression: label ", label, " is outside [0, ", study_class_count, ")");
  require(std::isfinite(intensity) && intensity >= 0.0 && intensity <= 1.0, "expression: intensity ", intensity,
          " is outside [0, 1]");
  action_units units;
  if (!jitter) {
    for (const auto a : class_recipe(label, 0).core) units.set(a, intensity);
    return units;
  }
  draws u{*jitter};
  const auto variant = static_cast<std::int64_t>(u(0, 1) * others_variants);
  const expression_recipe recipe = class_recipe(label, std::min(variant, others_variants - 1));
  const bool right_only = u.chance(0.5);
  // How strongly each unit moves varies by clip, and the two sides are never quite equal.
  for (const auto a : recipe.core) {
    const double v = intensity * u(0.8, 1.0);
    const bool single = std::find(recipe.one_side.begin(), recipe.one_side.end(), a) != recipe.one_side.end();
    const double r = v * u(0.92, 1.0), l = v * u(0.92, 1.0);
    units.set(a, single && !right_only ? 0.0 : r, single && right_only ? 0.0 : l);
  }
  for (const auto a : recipe.optional)
    if (u.chance(0.3)) {
      const double v = intensity * u(0.3, 0.6);
      units.set(a, v * u(0.92, 1.0), v * u(0.92, 1.0));
    }
  return units;
}

}  // namespace detail

// The action units of study class `label` at `intensity` (0..1): its prototype, the class's core units at
// that intensity (for "others", its first variant: a frown with narrowed eyes).
//   happiness  6 + 12            cheeks up, lip corners up
//   sadness    1 + 4 + 15        inner brows up and together, lip corners down
//   surprise   1 + 2 + 5 + 26    brows up, eyes wide, jaw dropped
//   disgust    4 + 9 + 10        brows down, nose wrinkled, upper lip up
//   fear       1 + 2 + 4 + 5 + 20  brows up and together, eyes wide, lips stretched
//   repression 14 + 17 + 24      dimpled corners, chin up, lips pressed
//   others     4 + 7 | 45 | L12 or R12 | L2 or R2
inline action_units expression(std::int64_t label, double intensity) {
  return detail::make_expression(label, intensity, nullptr);
}

// The same with one clip's variation drawn from `jitter`: each core unit at 80-100% of `intensity`, the sides
// a few percent apart, some classes' optional units (happiness 25, sadness 17, disgust 7, fear 25) in 30% of
// clips at 30-60%, and for "others" one of its variants.
inline action_units expression(std::int64_t label, double intensity, const random_stream& jitter) {
  return detail::make_expression(label, intensity, &jitter);
}

// --- Clips --------------------------------------------------------------------------------------------------

inline std::string subject_name(std::int64_t subject) {
  return subject < 10 ? str("sub0", subject) : str("sub", subject);
}

// One clip: who, which class, which frames, what moves. Frame numbers start where the clip starts in its
// (imaginary) recording, as CASME II's reg_img46.jpg does, not at 0.
struct clip_spec {
  std::uint64_t seed = 0;
  std::int64_t subject = 1;      // 1-based: sub01 is 1
  std::int64_t label = 0;        // index into study_classes()
  std::int64_t take = 0;         // 0-based among the subject's clips of this class
  std::string name;              // "EP03_02f", unique within the subject
  std::int64_t onset = 0, apex = 0, offset = 0;
  action_units coded;            // the units at full amplitude: what the coding sheet lists
  action_units apex_units;       // at the apex: coded times the amplitude
  head_pose onset_pose, offset_pose;  // the head drifts from one to the other

  std::int64_t frames() const { return offset - onset + 1; }
  std::string path() const { return subject_name(subject) + "/" + name; }
};

// The expression's strength at a frame, 0..1: a raised cosine from 0 at onset up to 1 at the apex and back
// to 0 at offset, so onset and offset frames show the neutral face.
inline double intensity_at(const clip_spec& clip, std::int64_t frame) {
  require(frame >= clip.onset && frame <= clip.offset, "intensity_at: frame ", frame, " is outside clip ", clip.path(),
          " (frames ", clip.onset, " to ", clip.offset, ")");
  const double pi = 3.14159265358979323846;
  if (frame <= clip.apex)
    return 0.5 - 0.5 * std::cos(pi * static_cast<double>(frame - clip.onset) / static_cast<double>(clip.apex - clip.onset));
  return 0.5 + 0.5 * std::cos(pi * static_cast<double>(frame - clip.apex) / static_cast<double>(clip.offset - clip.apex));
}

inline action_units units_at(const clip_spec& clip, std::int64_t frame) {
  return clip.apex_units.scaled(intensity_at(clip, frame));
}

// The head at a frame: a smooth drift from the onset pose to the offset pose plus a tremor of a hundredth
// of a pixel and of a degree, drawn from the frame's own stream.
inline head_pose pose_at(const clip_spec& clip, std::int64_t frame) {
  require(frame >= clip.onset && frame <= clip.offset, "pose_at: frame ", frame, " is outside clip ", clip.path(),
          " (frames ", clip.onset, " to ", clip.offset, ")");
  const double t = detail::smoothstep(0.0, 1.0, static_cast<double>(frame - clip.onset) / static_cast<double>(clip.frames() - 1));
  const random_stream tremor{clip.seed, detail::face_stream_id(detail::face_stream::frame_pose,
                                                               static_cast<std::uint64_t>(clip.subject),
                                                               static_cast<std::uint64_t>(clip.label),
                                                               static_cast<std::uint64_t>(clip.take),
                                                               static_cast<std::uint64_t>(frame - clip.onset))};
  return head_pose{detail::mix(clip.onset_pose.x, clip.offset_pose.x, t) + 0.01 * tremor.normal(0),
                   detail::mix(clip.onset_pose.y, clip.offset_pose.y, t) + 0.01 * tremor.normal(1),
                   detail::mix(clip.onset_pose.roll, clip.offset_pose.roll, t) + 0.01 * tremor.normal(2)};
}

namespace detail {

// Fisher-Yates over [first, first + n) with draws from u.
inline std::vector<std::int64_t> shuffled_range(std::int64_t first, std::int64_t n, draws& u) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), first);
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = std::min(i, static_cast<std::int64_t>(u(0, 1) * static_cast<double>(i + 1)));
    std::swap(v[static_cast<std::size_t>(i)], v[static_cast<std::size_t>(j)]);
  }
  return v;
}

}  // namespace detail

// Every clip of the dataset, ordered by subject, then class, then take. A clip's content depends only on
// (seed, subject, class, take): more subjects or takes add clips without changing the others.
inline std::vector<clip_spec> plan_clips(const procedural_options& o) {
  check_options(o);
  using detail::face_stream;
  using detail::face_stream_id;
  std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>> keys;  // subject, label, take
  if (!o.casme_imbalance) {
    for (std::int64_t s = 1; s <= o.subjects; ++s)
      for (std::int64_t c = 0; c < study_class_count; ++c)
        for (std::int64_t k = 0; k < o.clips_per_class; ++k) keys.emplace_back(s, c, k);
  } else {
    // Class c gets CASME II's share of subjects x classes x clips_per_class clips (at least one), dealt to
    // the subjects in a shuffled round so that, as in CASME II, not every subject shows every class.
    const std::int64_t total = o.subjects * o.clips_per_class * study_class_count;
    const std::int64_t casme_total = std::accumulate(casme2_clip_counts.begin(), casme2_clip_counts.end(), std::int64_t{0});
    for (std::int64_t c = 0; c < study_class_count; ++c) {
      const auto n = std::max<std::int64_t>(1, std::llround(static_cast<double>(total * casme2_clip_counts[static_cast<std::size_t>(c)]) /
                                                            static_cast<double>(casme_total)));
      detail::draws u{random_stream{o.seed, face_stream_id(face_stream::plan, 0, static_cast<std::uint64_t>(c))}};
      const auto order = detail::shuffled_range(1, o.subjects, u);
      for (std::int64_t j = 0; j < n; ++j) keys.emplace_back(order[static_cast<std::size_t>(j % o.subjects)], c, j / o.subjects);
    }
    std::sort(keys.begin(), keys.end());
  }

  std::vector<clip_spec> clips;
  clips.reserve(keys.size());
  for (const auto& [subject, label, take] : keys) {
    clip_spec clip;
    clip.seed = o.seed;
    clip.subject = subject;
    clip.label = label;
    clip.take = take;
    const auto id = [&clip](std::uint64_t part) {  // clip, not the bindings: clang 14 cannot capture those
      return face_stream_id(face_stream::clip, static_cast<std::uint64_t>(clip.subject), static_cast<std::uint64_t>(clip.label),
                            static_cast<std::uint64_t>(clip.take), part);
    };
    detail::draws u{random_stream{o.seed, id(0)}};
    const std::int64_t n = std::min(o.max_frames, o.min_frames + static_cast<std::int64_t>(
                                                                   u(0, 1) * static_cast<double>(o.max_frames - o.min_frames + 1)));
    clip.onset = 1 + static_cast<std::int64_t>(u(0, 300));
    clip.offset = clip.onset + n - 1;
    const auto rise = std::llround(u(0.35, 0.65) * static_cast<double>(n - 1));
    clip.apex = clip.onset + std::clamp<std::int64_t>(rise, 1, n - 2);
    // Where the head sits differs from clip to clip (registration is never perfect, CASME II's included);
    // within a clip, 40 to 75 ms at 200 fps, it drifts by a few hundredths of a pixel and of a degree. More
    // than that and the drift of a high-contrast outline outweighs a subtle expression in pixel distance.
    clip.onset_pose = head_pose{u(-0.3, 0.3), u(-0.3, 0.3), u(-0.5, 0.5)};
    clip.offset_pose = head_pose{clip.onset_pose.x + u(-0.06, 0.06), clip.onset_pose.y + u(-0.06, 0.06),
                                 clip.onset_pose.roll + u(-0.08, 0.08)};
    clip.coded = expression(label, 1.0, random_stream{o.seed, id(1)});
    clip.apex_units = clip.coded.scaled(o.amplitude);
    clips.push_back(std::move(clip));
  }

  // Names: each subject's clips get distinct episode numbers in a shuffled order, CASME II style (EP02_01f).
  for (std::size_t first = 0; first < clips.size();) {
    std::size_t last = first;
    while (last < clips.size() && clips[last].subject == clips[first].subject) ++last;
    const auto count = static_cast<std::int64_t>(last - first);
    detail::draws u{random_stream{o.seed, face_stream_id(face_stream::plan, static_cast<std::uint64_t>(clips[first].subject), 15)}};
    const auto episodes = detail::shuffled_range(1, std::max<std::int64_t>(19, count), u);
    for (std::size_t i = first; i < last; ++i) {
      const std::int64_t episode = episodes[i - first];
      const auto take = 1 + static_cast<std::int64_t>(u(0, 5));
      clips[i].name = str("EP", episode < 10 ? "0" : "", episode, "_0", take, u.chance(0.5) ? "f" : "");
    }
    first = last;
  }
  return clips;
}

// --- Frames -------------------------------------------------------------------------------------------------

namespace detail {

// Elements 4b .. 4b + 3 of stream.normal(i), bit for bit, from one Philox block instead of four: the same
// Box-Muller formula on the same words. Noise is most of a frame's random numbers.
inline void normal_block(const random_stream& stream, std::uint64_t b, double out[4]) {
  const philox_block r = stream.block(b);
  for (unsigned pair = 0; pair < 2; ++pair) {
    const double u1 = (static_cast<double>(r.v[2 * pair] >> 8) + 1.0) * (1.0 / 16777216.0);
    const double u2 = static_cast<double>(r.v[2 * pair + 1] >> 8) * (1.0 / 16777216.0);
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 6.283185307179586476925 * u2;
    out[2 * pair] = radius * std::cos(angle);
    out[2 * pair + 1] = radius * std::sin(angle);
  }
}

}  // namespace detail

// What a camera does to the drawn face: optical blur (Gaussian, sigma in pixels, edges repeated), sensor
// noise (Gaussian, sigma in gray levels, pixel i from element i of `stream`), and 8-bit quantisation, so a
// frame holds the integers a JPEG or PNG of it would.
inline image photograph(const image& clean, double blur, double noise, const random_stream& stream) {
  image out = clean;
  if (blur > 0.0) {
    const auto radius = static_cast<std::int64_t>(std::ceil(3.0 * blur));
    std::vector<double> kernel(static_cast<std::size_t>(2 * radius + 1));
    double sum = 0;
    for (std::int64_t k = -radius; k <= radius; ++k)
      sum += kernel[static_cast<std::size_t>(k + radius)] = std::exp(-0.5 * static_cast<double>(k * k) / (blur * blur));
    for (auto& w : kernel) w /= sum;
    const std::int64_t h = clean.height, w = clean.width;
    for (std::int64_t c = 0; c < clean.channels; ++c) {
      std::vector<double> rows(static_cast<std::size_t>(h * w));
      const float* in = clean.channel(c);
      for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x) {
          double acc = 0;
          for (std::int64_t k = -radius; k <= radius; ++k)
            acc += kernel[static_cast<std::size_t>(k + radius)] * in[y * w + std::clamp<std::int64_t>(x + k, 0, w - 1)];
          rows[static_cast<std::size_t>(y * w + x)] = acc;
        }
      float* o = out.channel(c);
      for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x) {
          double acc = 0;
          for (std::int64_t k = -radius; k <= radius; ++k)
            acc += kernel[static_cast<std::size_t>(k + radius)] *
                   rows[static_cast<std::size_t>(std::clamp<std::int64_t>(y + k, 0, h - 1) * w + x)];
          o[y * w + x] = static_cast<float>(acc);
        }
    }
  }
  const std::size_t n = out.pixels.size();
  for (std::size_t i = 0; i < n; i += 4) {
    double normals[4] = {0, 0, 0, 0};
    if (noise > 0.0) detail::normal_block(stream, i / 4, normals);
    for (std::size_t k = 0; k < 4 && i + k < n; ++k) {
      const double v = static_cast<double>(out.pixels[i + k]) + noise * normals[k];
      out.pixels[i + k] = static_cast<float>(std::clamp(std::round(v), 0.0, 255.0));
    }
  }
  return out;
}

// One frame of a clip as procedural_faces stores it: the face at the frame's expression and pose, through
// the camera. The noise comes from the frame's own stream, so frames can be rendered in any order.
inline image render_frame(const procedural_options& o, const face_identity& who, const clip_spec& clip, std::int64_t frame) {
  const image clean = render_face(who, units_at(clip, frame), pose_at(clip, frame), o.size);
  const random_stream noise{clip.seed, detail::face_stream_id(detail::face_stream::frame_noise,
                                                              static_cast<std::uint64_t>(clip.subject),
                                                              static_cast<std::uint64_t>(clip.label),
                                                              static_cast<std::uint64_t>(clip.take),
                                                              static_cast<std::uint64_t>(frame - clip.onset))};
  return photograph(clean, o.blur, o.noise, noise);
}

namespace detail {

// Every frame of every clip, rendered in parallel (one task per frame; each frame's randomness is its own,
// so the bits do not depend on the thread count), in clip order then frame order.
inline std::vector<image> render_clips(const procedural_options& o, const std::vector<clip_spec>& clips) {
  std::vector<face_identity> faces;
  for (std::int64_t s = 1; s <= o.subjects; ++s) faces.push_back(draw_identity(o.seed, s));
  std::vector<std::pair<std::size_t, std::int64_t>> jobs;  // clip, frame
  for (std::size_t c = 0; c < clips.size(); ++c)
    for (std::int64_t f = clips[c].onset; f <= clips[c].offset; ++f) jobs.emplace_back(c, f);
  std::vector<image> frames(jobs.size());
  // Inputs are checked before the loop (check_options, plan_clips), so nothing in it throws.
  parallel_for(static_cast<std::int64_t>(jobs.size()), [&](std::int64_t j) {
    const auto& [c, f] = jobs[static_cast<std::size_t>(j)];
    const clip_spec& clip = clips[c];
    frames[static_cast<std::size_t>(j)] = render_frame(o, faces[static_cast<std::size_t>(clip.subject - 1)], clip, f);
  }, 4);
  return frames;
}

}  // namespace detail

// The dataset: every frame from onset to offset of every clip (as the study used CASME II), grayscale
// size x size on [0, 255], labelled with study_classes(); subject "sub01", clip "sub01/EP03_02f", frame its
// number, source empty.
inline dataset procedural_faces(const procedural_options& o) {
  const std::vector<clip_spec> clips = plan_clips(o);
  std::vector<image> frames = detail::render_clips(o, clips);
  dataset out(study_classes());
  std::size_t j = 0;
  for (const auto& clip : clips)
    for (std::int64_t f = clip.onset; f <= clip.offset; ++f, ++j)
      out.add(sample{std::move(frames[j]), clip.label, subject_name(clip.subject), clip.path(), f, {}});
  return out;
}

// --- On disk ------------------------------------------------------------------------------------------------

// The clips' coding sheet in the layout of CASME II's CSV export: a header row, then one row per clip with
// the subject as a number (1 for sub01), the clip folder, onset, apex and offset frame numbers, the FACS
// code ("6+12", "R12") and the emotion.
inline csv_rows casme2_coding_rows(const std::vector<clip_spec>& clips) {
  csv_rows rows{{"Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"}};
  for (const auto& c : clips)
    rows.push_back({std::to_string(c.subject), c.name, std::to_string(c.onset), std::to_string(c.apex),
                    std::to_string(c.offset), facs_code(c.coded), study_classes()[static_cast<std::size_t>(c.label)]});
  return rows;
}

// Writes the dataset as CASME II is distributed, so that the real-data path (load_casme2) can be run and
// tested without the real data: ROOT/Cropped/sub01/EP02_01f/reg_img46.jpg (JPEG quality 95, the frames of
// procedural_faces) and ROOT/coding.csv. Load it with casme2_options{.root = ROOT (or ROOT/"Cropped"), .sheet =
// ROOT/"coding.csv"}. The sheet is written last, so a tree that has one is complete. Files already in ROOT
// stay unless overwritten: write into an empty folder.
inline void write_casme2_tree(const procedural_options& o, const std::filesystem::path& root) {
  const std::vector<clip_spec> clips = plan_clips(o);
  const std::vector<image> frames = detail::render_clips(o, clips);
  std::size_t j = 0;
  for (const auto& clip : clips) {
    const std::filesystem::path dir = root / "Cropped" / subject_name(clip.subject) / clip.name;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) fail("write_casme2_tree: cannot create the folder ", dir.string(), ": ", ec.message());
    for (std::int64_t f = clip.onset; f <= clip.offset; ++f, ++j)
      write_jpeg(dir / str("reg_img", f, ".jpg"), frames[j], 95);
  }
  write_csv(root / "coding.csv", casme2_coding_rows(clips));
}

}  // namespace data
FERGEN_END_NAMESPACE
