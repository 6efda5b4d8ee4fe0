// fergen/data/leakage.hpp: how much of a split's test side the train side has already seen, by clip and by
// subject: the number that tells a frame-level random split (the study's) from an honest protocol.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/split.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <set>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace data {

// Overlaps are fractions of TEST frames: a test frame whose clip also has frames in train is a near copy
// of something the model trained on (200 fps: 5 ms apart), so clip_overlap is the share of the test score
// that measures recall rather than recognition; subject_overlap the share that is not subject-independent.
//
// Frames without an id (empty subject or clip) cannot be matched. They are left out of the fraction (which is
// then over the test frames that have an id, matched against the train frames that have one) and counted in
// frames_without_clip / frames_without_subject (both sides); when no test or no train frame has an id, the
// overlap is unknown: NaN, and describe() says "unknown" instead of printing a reassuring 0%.
struct leakage_report {
  std::string name;  // the split's
  std::int64_t train = 0, test = 0;  // frames on each side
  double clip_overlap = std::numeric_limits<double>::quiet_NaN();
  double subject_overlap = std::numeric_limits<double>::quiet_NaN();
  std::int64_t shared_clips = 0, shared_subjects = 0;  // distinct ids with frames on both sides
  std::int64_t frames_without_clip = 0, frames_without_subject = 0;

  // One line: "random 80/20: 3425 test frames, 13699 train; 99.8% share a clip with train (251 clips on both
  // sides), 100% share a subject (26 subjects on both sides)".
  std::string describe() const;
};

namespace detail {

// 0 and 1 print as "0%" and "100%" only when exact: 0.9996 is "99.9%"-and-a-bit, which one decimal would
// round up to a misleading "100.0%", so it prints ">99.9%" (and a tiny positive value "<0.1%").
inline std::string percent(double fraction) {
  if (fraction == 0.0) return "0%";
  if (fraction == 1.0) return "100%";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", 100.0 * fraction);
  const std::string s(text);
  if (s == "100.0") return ">99.9%";
  if (s == "0.0") return "<0.1%";
  return s + "%";
}

// "3 clips", "1 clip".
inline std::string counted(std::int64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

inline std::string overlap_phrase(double overlap, std::int64_t shared, std::int64_t without, const char* what,
                                  const char* phrase) {
  const std::string id = std::string(" without a ") + what + " id";
  if (std::isnan(overlap))
    return std::string(what) + " overlap unknown (" + (without > 0 ? counted(without, "frame") + id : "a side is empty") +
           ")";
  std::string out = percent(overlap) + " " + phrase + " (" + counted(shared, what) + " on both sides";
  if (without > 0) out += "; " + counted(without, "frame") + id + " not counted";
  return out + ")";
}

struct side_overlap {
  double fraction = std::numeric_limits<double>::quiet_NaN();
  std::int64_t shared = 0, without = 0;
};

inline side_overlap overlap_by(const dataset& ds, const split& s, std::string sample::*field) {
  side_overlap o;
  std::set<std::string> in_train, shared;
  for (const auto i : s.train) {
    const std::string& id = ds[i].*field;
    if (id.empty())
      ++o.without;
    else
      in_train.insert(id);
  }
  std::int64_t known = 0, seen = 0;
  for (const auto i : s.test) {
    const std::string& id = ds[i].*field;
    if (id.empty()) {
      ++o.without;
      continue;
    }
    ++known;
    if (in_train.count(id)) {
      ++seen;
      shared.insert(id);
    }
  }
  o.shared = static_cast<std::int64_t>(shared.size());
  if (known > 0 && !in_train.empty()) o.fraction = static_cast<double>(seen) / static_cast<double>(known);
  return o;
}

}  // namespace detail

inline std::string leakage_report::describe() const {
  return (name.empty() ? std::string("split") : name) + ": " + std::to_string(test) + " test frames, " +
         std::to_string(train) + " train; " +
         detail::overlap_phrase(clip_overlap, shared_clips, frames_without_clip, "clip", "share a clip with train") +
         ", " +
         detail::overlap_phrase(subject_overlap, shared_subjects, frames_without_subject, "subject", "share a subject");
}

// The report of one split; every index must be a sample of ds (an error names the first that is not).
inline leakage_report measure_leakage(const dataset& ds, const split& s) {
  for (const auto* side : {&s.train, &s.test})
    for (const auto i : *side)
      require(i >= 0 && i < ds.size(), "measure_leakage: split '", s.name, "' has ", side == &s.train ? "train" : "test",
              " index ", i, ", outside the dataset's [0, ", ds.size(), ")");
  leakage_report r;
  r.name = s.name;
  r.train = static_cast<std::int64_t>(s.train.size());
  r.test = static_cast<std::int64_t>(s.test.size());
  const detail::side_overlap clips = detail::overlap_by(ds, s, &sample::clip);
  const detail::side_overlap subjects = detail::overlap_by(ds, s, &sample::subject);
  r.clip_overlap = clips.fraction;
  r.shared_clips = clips.shared;
  r.frames_without_clip = clips.without;
  r.subject_overlap = subjects.fraction;
  r.shared_subjects = subjects.shared;
  r.frames_without_subject = subjects.without;
  return r;
}

}  // namespace data
FERGEN_END_NAMESPACE
