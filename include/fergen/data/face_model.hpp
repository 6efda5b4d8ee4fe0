// fergen/data/face_model.hpp: a parametric grayscale face: an identity drawn from a seed, FACS action units
// as continuous deformations of its geometry, and an anti-aliased renderer under a small head pose.
//
// It exists so that the whole study (train a diffusion model, generate, judge with CNNs) runs on a laptop
// with no download: procedural_faces.hpp builds a CASME II-shaped dataset from it. The model is a drawing,
// not a morphable 3-D face: what matters is that identities differ, that each action unit moves the parts
// FACS says it moves, and that the same numbers give the same pixels everywhere.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/rng.hpp>
#include <fergen/data/image.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

FERGEN_BEGIN_NAMESPACE
namespace data {

// --- Action units -------------------------------------------------------------------------------------------

// The FACS action units the seven study classes (and CASME II's "others") are made of, in FACS order.
enum class action_unit : int {
  au1,   // inner brow raiser
  au2,   // outer brow raiser
  au4,   // brow lowerer
  au5,   // upper lid raiser
  au6,   // cheek raiser
  au7,   // lid tightener
  au9,   // nose wrinkler
  au10,  // upper lip raiser
  au12,  // lip corner puller
  au14,  // dimpler
  au15,  // lip corner depressor
  au17,  // chin raiser
  au20,  // lip stretcher
  au24,  // lip pressor
  au25,  // lips part
  au26,  // jaw drop
  au45,  // blink
};
inline constexpr int action_unit_count = 17;

// FACS number and name of each unit, indexed by the enum's value.
inline constexpr std::array<int, action_unit_count> facs_numbers = {1, 2, 4, 5, 6, 7, 9, 10, 12,
                                                                     14, 15, 17, 20, 24, 25, 26, 45};
inline constexpr std::array<const char*, action_unit_count> facs_names = {
    "inner brow raiser", "outer brow raiser", "brow lowerer",  "upper lid raiser",     "cheek raiser",
    "lid tightener",     "nose wrinkler",     "upper lip raiser", "lip corner puller",  "dimpler",
    "lip corner depressor", "chin raiser",    "lip stretcher", "lip pressor",          "lips part",
    "jaw drop",          "blink"};

inline constexpr int facs_number(action_unit au) { return facs_numbers[static_cast<std::size_t>(au)]; }
inline constexpr const char* facs_name(action_unit au) { return facs_names[static_cast<std::size_t>(au)]; }

// The intensity of every unit on each side of the face, 0 (absent) to 1 (the strongest this model draws).
// Sides are the subject's, as FACS codes them ("L12" is the subject's left lip corner): the subject's left
// is the right half of the image.
struct action_units {
  std::array<double, action_unit_count> right{};  // subject's right: left half of the image
  std::array<double, action_unit_count> left{};   // subject's left: right half of the image

  action_units& set(action_unit au, double intensity) { return set(au, intensity, intensity); }
  action_units& set(action_unit au, double right_side, double left_side) {
    right[static_cast<std::size_t>(au)] = right_side;
    left[static_cast<std::size_t>(au)] = left_side;
    return *this;
  }
  double on_right(action_unit au) const { return right[static_cast<std::size_t>(au)]; }
  double on_left(action_unit au) const { return left[static_cast<std::size_t>(au)]; }
  double mean(action_unit au) const { return 0.5 * (on_right(au) + on_left(au)); }

  // Every intensity times factor: the expression at a point of its onset-apex-offset curve.
  action_units scaled(double factor) const {
    action_units out = *this;
    for (auto& v : out.right) v *= factor;
    for (auto& v : out.left) v *= factor;
    return out;
  }

  bool neutral() const {
    return std::all_of(right.begin(), right.end(), [](double v) { return v == 0.0; }) &&
           std::all_of(left.begin(), left.end(), [](double v) { return v == 0.0; });
  }

  friend bool operator==(const action_units&, const action_units&) = default;
};

// The FACS code of the units present, in CASME II's style: "1+2+5+26", a unit on one side only gets its side
// ("L12", "R14"). Intensity does not enter: a coder writes which units move, not how far.
inline std::string facs_code(const action_units& units) {
  std::string code;
  for (int i = 0; i < action_unit_count; ++i) {
    const auto au = static_cast<action_unit>(i);
    const bool r = units.on_right(au) > 0, l = units.on_left(au) > 0;
    if (!r && !l) continue;
    if (!code.empty()) code += '+';
    if (r != l) code += r ? 'R' : 'L';
    code += std::to_string(facs_number(au));
  }
  return code;
}

// --- Identity -----------------------------------------------------------------------------------------------

enum class hair_style { short_hair, long_hair, receding, fringe };

// One subject's face. Lengths are in face units: the image spans [-1, 1] on both axes, y points down, so at
// 64 x 64 one unit is 32 pixels. Tones are gray levels on [0, 255]. Feature positions vary only by a pixel or
// two between subjects, as in CASME II's registered crops (reg_img), where faces are aligned on the eyes.
struct face_identity {
  // Head: an ellipse above the cheekbones, a jaw narrowing towards the chin below them.
  double center_y = -0.03;      // height of the cheekbone line
  double face_width = 0.76;     // half-width at the cheekbones
  double upper_height = 1.06;   // cheekbones to crown
  double lower_height = 0.9;    // cheekbones to chin
  double jaw = 0.6;             // width near the chin relative to face_width: 0.5 pointed .. 0.85 square
  // Eyes (mirrored): centre height, half-distance between the centres, half-width, lid heights above and
  // below the centre line, iris radius.
  double eye_y = -0.19, eye_spacing = 0.33, eye_width = 0.145, eye_upper = 0.07, eye_lower = 0.045, iris = 0.06;
  // Brows: height of their middle above the eye centre, thickness, length, arch.
  double brow_gap = 0.2, brow_thickness = 0.06, brow_length = 0.33, brow_arch = 0.03;
  // Nose tip height and half-width at the wings; mouth height, half-width, lip thicknesses.
  double nose_y = 0.2, nose_width = 0.1;
  double mouth_y = 0.48, mouth_width = 0.25, upper_lip = 0.04, lower_lip = 0.055;
  // Tones, and a left-right lighting gradient (fraction of the skin tone per face unit).
  double skin = 170, background = 60, hair = 40, lips = 135, iris_tone = 60, light = 0.0;
  // Hair: style, hairline height at the middle, how fast it drops towards the temples, tilt of a side part.
  data::hair_style hair_style = hair_style::short_hair;
  double hairline = -0.7, hairline_curve = 0.45, hair_part = 0.0;
  // Marks that tell people apart at a glance.
  bool glasses = false;
  double glasses_tone = 30;
  bool mole = false;
  double mole_x = 0.0, mole_y = 0.0, mole_radius = 0.025;
};

namespace detail {

// Stream ids of the face generator's random draws: a kind in the top byte, then subject (16 bits), class
// (4), take (16) and frame (20). Every draw has its own stream, so a subject's face does not depend on how
// many subjects there are, nor a frame's noise on which thread renders it.
enum class face_stream : std::uint64_t { identity = 1, clip = 2, frame_noise = 3, frame_pose = 4, plan = 5 };
inline constexpr std::uint64_t face_stream_id(face_stream kind, std::uint64_t subject, std::uint64_t label = 0,
                                              std::uint64_t take = 0, std::uint64_t frame = 0) {
  return (static_cast<std::uint64_t>(kind) << 56) | (subject << 40) | (label << 36) | (take << 20) | frame;
}

// Sequential uniform draws from one stream.
struct draws {
  random_stream stream;
  std::uint64_t next = 0;
  double operator()(double lo, double hi) { return lo + (hi - lo) * static_cast<double>(stream.uniform(next++)); }
  bool chance(double p) { return static_cast<double>(stream.uniform(next++)) < p; }
};

}  // namespace detail

// The face of subject `subject` (1-based, as in sub01) under `seed`: a pure function of the two.
inline face_identity draw_identity(std::uint64_t seed, std::int64_t subject) {
  require(subject >= 1 && subject < (std::int64_t{1} << 16), "draw_identity: subject ", subject,
          " is outside [1, 65535]");
  detail::draws u{random_stream{seed, detail::face_stream_id(detail::face_stream::identity,
                                                              static_cast<std::uint64_t>(subject))}};
  face_identity f;
  f.center_y = u(-0.06, 0.0);
  f.face_width = u(0.68, 0.82);
  f.upper_height = u(1.0, 1.12);
  f.lower_height = u(0.86, 0.93);
  f.jaw = u(0.5, 0.82);
  f.eye_y = u(-0.2, -0.18);
  f.eye_spacing = u(0.32, 0.34);
  f.eye_width = u(0.13, 0.155);
  f.eye_upper = u(0.06, 0.08);
  f.eye_lower = f.eye_upper * u(0.55, 0.7);
  f.iris = u(0.055, 0.065);
  f.brow_gap = u(0.185, 0.205);
  f.brow_thickness = u(0.045, 0.08);
  f.brow_length = u(0.29, 0.36);
  f.brow_arch = u(0.0, 0.045);
  f.nose_y = u(0.18, 0.21);
  f.nose_width = u(0.085, 0.12);
  f.mouth_y = u(0.45, 0.475);
  f.mouth_width = u(0.235, 0.265);
  f.upper_lip = u(0.03, 0.05);
  f.lower_lip = u(0.045, 0.065);
  // Tones: the face always stands out from the background, hair and brows from the skin.
  f.skin = u(125, 205);
  f.background = u.chance(0.5) || f.skin > 195 ? u(25, std::max(30.0, f.skin - 75)) : u(std::min(235.0, f.skin + 35), 245);
  f.hair = u(15, std::min(110.0, f.skin - 50));
  f.lips = f.skin * u(0.62, 0.75);
  f.iris_tone = u(35, 90);
  f.light = u(-0.14, 0.14);
  const double style = u(0, 1);
  f.hair_style = style < 0.4 ? hair_style::short_hair
                 : style < 0.65 ? hair_style::long_hair
                 : style < 0.82 ? hair_style::fringe
                                : hair_style::receding;
  f.hairline = f.hair_style == hair_style::receding ? u(-0.98, -0.88)
               : f.hair_style == hair_style::fringe ? f.eye_y - f.brow_gap - u(0.18, 0.24)  // above raised brows
                                                     : u(-0.78, -0.6);
  f.hairline_curve = f.hair_style == hair_style::fringe ? u(0.05, 0.2) : u(0.3, 0.7);
  f.hair_part = u(-0.12, 0.12);
  f.glasses = u.chance(0.25);
  f.glasses_tone = u(15, 60);
  f.mole = u.chance(0.4);
  f.mole_x = (u.chance(0.5) ? -1 : 1) * u(0.25, 0.5);
  f.mole_y = u(0.0, 0.45);
  f.mole_radius = u(0.018, 0.03);
  return f;
}

// --- Rendering ----------------------------------------------------------------------------------------------

// Rigid head motion: a translation in pixels of the rendered image and a roll in degrees (clockwise on the
// screen) about the image centre.
struct head_pose {
  double x = 0.0;
  double y = 0.0;
  double roll = 0.0;
  friend bool operator==(const head_pose&, const head_pose&) = default;
};

namespace detail {

// sqrt(x^2 + y^2) without std::hypot's care for overflow, which face units never come near: it is the
// renderer's most frequent call.
inline double length(double x, double y) { return std::sqrt(x * x + y * y); }

inline double clamp01(double x) { return x < 0.0 ? 0.0 : (x > 1.0 ? 1.0 : x); }
inline double mix(double a, double b, double t) { return a + (b - a) * t; }
inline double smoothstep(double e0, double e1, double x) {
  const double t = clamp01((x - e0) / (e1 - e0));
  return t * t * (3.0 - 2.0 * t);
}

// Fraction of a pixel-wide box centred at x that lies in [a, b]: the exact coverage of an edge parallel to
// the axis, and a band thinner than a pixel fades instead of vanishing or flickering between frames.
inline double span_cover(double x, double a, double b, double pixel) {
  return clamp01((std::min(x + 0.5 * pixel, b) - std::max(x - 0.5 * pixel, a)) / pixel);
}

// Coverage of a shape by its signed distance (negative inside), with an edge `soft` wide: one pixel for a
// crisp anti-aliased outline, more for shading.
inline double edge_cover(double distance, double soft) { return clamp01(0.5 - distance / soft); }

// Signed distance to the ellipse x^2/a^2 + y^2/b^2 = 1: exact on the axes, close elsewhere for the mild
// eccentricities of facial parts, and far cheaper than the exact quartic.
inline double ellipse_distance(double x, double y, double a, double b) {
  const double k = length(x / a, y / b);
  if (k < 1e-12) return -std::min(a, b);
  return length(x, y) * (1.0 - 1.0 / k);
}

// A stroke whose centre line is a parabola: `across` as a function of `along` from (a0, c0) to (a1, c1),
// its middle displaced by `bend` along +across. Horizontal strokes (brows, lids, lips) take along = x;
// vertical ones (folds, furrows) along = y. Width goes from w0 to w1 and tapers at the ends.
struct stroke {
  double a0, c0, a1, c1, bend, w0, w1;
};

inline double stroke_cover(const stroke& s, double along, double across, double pixel) {
  const double span = s.a1 - s.a0;
  if (std::abs(span) < 1e-9) return 0.0;
  const double t = clamp01((along - s.a0) / span);
  const double centre = mix(s.c0, s.c1, t) + 4.0 * s.bend * t * (1.0 - t);
  const double slope = ((s.c1 - s.c0) + 4.0 * s.bend * (1.0 - 2.0 * t)) / span;
  const double distance = (across - centre) / std::sqrt(1.0 + slope * slope);
  const double half = 0.5 * mix(s.w0, s.w1, t) * (0.4 + 0.6 * clamp01(std::min(t, 1.0 - t) / 0.15));
  return span_cover(distance, -half, half, pixel) * span_cover(along, std::min(s.a0, s.a1), std::max(s.a0, s.a1), pixel);
}

// An axis-aligned rectangle in face units, the region a feature can touch.
struct face_box {
  double x0, y0, x1, y1;
};

inline face_box stroke_box(const stroke& s, bool vertical) {
  const double m = 0.5 * std::max(s.w0, s.w1);
  const double a0 = std::min(s.a0, s.a1) - m, a1 = std::max(s.a0, s.a1) + m;
  const double c0 = std::min(s.c0, s.c1) + std::min(0.0, s.bend) - m, c1 = std::max(s.c0, s.c1) + std::max(0.0, s.bend) + m;
  return vertical ? face_box{c0, a0, c1, a1} : face_box{a0, c0, a1, c1};
}

struct paint_sample {
  double cover;  // 0..1, alpha included
  double tone;   // gray level where covered
};

// The image seen through the head pose: paint() visits only the pixels a feature's box can reach, maps
// each pixel centre into face units and blends the feature's tone by its coverage, back to front.
class face_canvas {
 public:
  face_canvas(image& img, const head_pose& pose) : img_(img) {
    pixel_ = 2.0 / static_cast<double>(img.width);
    const double angle = pose.roll * 3.14159265358979323846 / 180.0;
    cos_ = std::cos(angle);
    sin_ = std::sin(angle);
    shift_x_ = pose.x * pixel_;
    shift_y_ = pose.y * pixel_;
  }

  double pixel() const { return pixel_; }

  template <class Feature>
  void paint(const face_box& box, Feature&& feature) {
    // The box's corners on the screen bound the pixels to visit; one pixel of margin for the soft edges.
    double lo_x = 1e30, hi_x = -1e30, lo_y = 1e30, hi_y = -1e30;
    for (const double u : {box.x0, box.x1})
      for (const double v : {box.y0, box.y1}) {
        const double sx = cos_ * u - sin_ * v + shift_x_, sy = sin_ * u + cos_ * v + shift_y_;
        lo_x = std::min(lo_x, sx), hi_x = std::max(hi_x, sx), lo_y = std::min(lo_y, sy), hi_y = std::max(hi_y, sy);
      }
    const auto first = [&](double s) { return std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor((s + 1.0) / pixel_ - 0.5)) - 1, 0, img_.width); };
    const auto last = [&](double s) { return std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil((s + 1.0) / pixel_ - 0.5)) + 1, -1, img_.width - 1); };
    const std::int64_t x_begin = first(lo_x), x_end = last(hi_x), y_begin = first(lo_y), y_end = last(hi_y);
    float* out = img_.channel(0);
    for (std::int64_t y = y_begin; y <= y_end && y < img_.height; ++y) {
      const double sy = (static_cast<double>(y) + 0.5) * pixel_ - 1.0 - shift_y_;
      for (std::int64_t x = x_begin; x <= x_end; ++x) {
        const double sx = (static_cast<double>(x) + 0.5) * pixel_ - 1.0 - shift_x_;
        const double u = cos_ * sx + sin_ * sy, v = -sin_ * sx + cos_ * sy;  // inverse rotation
        if (u < box.x0 - pixel_ || u > box.x1 + pixel_ || v < box.y0 - pixel_ || v > box.y1 + pixel_) continue;
        const paint_sample s = feature(u, v);
        if (s.cover <= 0.0) continue;
        float& p = out[y * img_.width + x];
        p = static_cast<float>(p + (s.tone - p) * std::min(1.0, s.cover));
      }
    }
  }

  void paint_stroke(const stroke& s, bool vertical, double tone, double alpha) {
    if (alpha <= 0.0) return;
    const double px = pixel_;
    paint(stroke_box(s, vertical), [&](double u, double v) {
      return paint_sample{alpha * (vertical ? stroke_cover(s, v, u, px) : stroke_cover(s, u, v, px)), tone};
    });
  }

  // An ellipse centred at (cx, cy) with half-axes (a, b), edge `soft` wide (at least a pixel).
  void paint_ellipse(double cx, double cy, double a, double b, double tone, double alpha, double soft = 0.0) {
    if (alpha <= 0.0) return;
    const double edge = std::max(pixel_, soft);
    paint(face_box{cx - a - edge, cy - b - edge, cx + a + edge, cy + b + edge}, [&](double u, double v) {
      return paint_sample{alpha * edge_cover(ellipse_distance(u - cx, v - cy, a, b), edge), tone};
    });
  }

 private:
  image& img_;
  double pixel_ = 0, cos_ = 1, sin_ = 0, shift_x_ = 0, shift_y_ = 0;
};

// The mouth as four curves over x: the top of the upper lip, the lips' inner edges (they coincide when the
// mouth is closed) and the bottom of the lower lip. Each image half has its own corner, so one-sided units
// (L12, R14) bend one corner only.
struct mouth_shape {
  double centre_y = 0;     // where the lips meet in the middle
  double corner_x[2]{};    // |x| of the corners, image-left and image-right half
  double corner_y[2]{};
  double open = 0;         // gap between the lips in the middle (jaw drop, lips part)
  double raise = 0;        // extra lift of the upper lip's middle (upper lip raiser)
  double upper = 0, lower = 0;  // lip thicknesses in the middle

  struct edges {
    double upper_top, upper_bottom, lower_top, lower_bottom, line, slope;
  };

  edges at(double x) const {
    const int h = x < 0 ? 0 : 1;
    const double w = corner_x[h];
    const double t = std::min(1.0, std::abs(x) / w);
    const double q = 1.0 - t * t;
    edges e{};
    // Corners lift or drop along a curve that is flat in the middle: t^2 blended with t^4 gives the upturned
    // ends of a smile rather than a uniform arc.
    const double bend = 0.4 * t * t + 0.6 * t * t * t * t;
    e.line = centre_y + (corner_y[h] - centre_y) * bend;
    e.slope = (corner_y[h] - centre_y) * (0.8 * t + 2.4 * t * t * t) / w * (x < 0 ? -1.0 : 1.0);
    const double gap = open * std::sqrt(q);
    e.upper_bottom = e.line - 0.3 * gap - raise * q;
    e.lower_top = e.line + 0.7 * gap;
    const double bow = 1.0 - 0.3 * std::exp(-(x * x) / (0.035 * 0.035));  // the philtrum's dip (cupid's bow)
    e.upper_top = e.upper_bottom - upper * std::sqrt(q) * bow;
    e.lower_bottom = e.lower_top + lower * std::sqrt(q);
    return e;
  }
};

}  // namespace detail

// Draws the face of `who` making the expression `units` under `pose` into a size x size grayscale image on
// [0, 255], without noise (procedural_faces adds the camera). Anti-aliased: every edge is a coverage
// computed from the distance to the shape, one pixel wide, so sub-pixel motion changes pixels smoothly.
inline image render_face(const face_identity& who, const action_units& units, const head_pose& pose, std::int64_t size) {
  require(size >= 8 && size <= 4096, "render_face: size ", size, " is outside [8, 4096]");
  for (int i = 0; i < action_unit_count; ++i)
    for (const double v : {units.right[static_cast<std::size_t>(i)], units.left[static_cast<std::size_t>(i)]})
      require(std::isfinite(v) && v >= 0.0 && v <= 1.0, "render_face: AU", facs_numbers[static_cast<std::size_t>(i)],
              " has intensity ", v, ", outside [0, 1]");
  require(std::isfinite(pose.x) && std::isfinite(pose.y) && std::isfinite(pose.roll), "render_face: head pose (",
          pose.x, ", ", pose.y, ", ", pose.roll, ") is not finite");
  // An identity is a plain struct anyone can fill in: lengths that divide must be positive, the rest finite.
  const std::pair<const char*, double> lengths[] = {
      {"face_width", who.face_width}, {"upper_height", who.upper_height}, {"lower_height", who.lower_height},
      {"jaw", who.jaw},               {"eye_width", who.eye_width},       {"mouth_width", who.mouth_width}};
  for (const auto& [name, value] : lengths)
    require(std::isfinite(value) && value > 0.0, "render_face: face_identity.", name, " = ", value, " is not positive");
  for (const double v : {who.center_y, who.eye_y, who.eye_spacing, who.eye_upper, who.eye_lower, who.iris, who.brow_gap,
                         who.brow_thickness, who.brow_length, who.brow_arch, who.nose_y, who.nose_width, who.mouth_y,
                         who.upper_lip, who.lower_lip, who.skin, who.background, who.hair, who.lips, who.iris_tone,
                         who.light, who.hairline, who.hairline_curve, who.hair_part, who.glasses_tone, who.mole_x,
                         who.mole_y, who.mole_radius})
    require(std::isfinite(v), "render_face: face_identity has a value that is not finite (", v, ")");

  using detail::clamp01;
  using detail::mix;
  using detail::paint_sample;
  using detail::stroke;
  using au = action_unit;

  image img(1, size, size, static_cast<float>(who.background));
  detail::face_canvas canvas(img, pose);
  const double px = canvas.pixel();
  const double skin = who.skin;
  // Per image half (0: x < 0, the subject's right; 1: x > 0, the subject's left).
  const auto side = [&](au a, int h) { return h == 0 ? units.on_right(a) : units.on_left(a); };
  const auto both = [&](au a) { return units.mean(a); };
  const auto sign = [](int h) { return h == 0 ? -1.0 : 1.0; };

  // Background: a wall behind the subject, lit a little more from above; it stays put when the head moves.
  for (std::int64_t y = 0; y < size; ++y)
    std::fill_n(img.channel(0) + y * size, size,
                static_cast<float>(who.background * (1.0 + 0.08 * ((static_cast<double>(y) + 0.5) * px - 1.0))));

  // Jaw drop lowers the chin; the chin raiser pushes it up.
  const double chin = who.lower_height + 0.07 * both(au::au26) + 0.02 * both(au::au25) - 0.02 * both(au::au17);
  const double hair_a = who.face_width + 0.08, hair_b = who.upper_height + 0.1, hair_cy = who.center_y - 0.05;
  const double ear_y = who.eye_y + 0.13;
  // Pixels well inside the face, which paints over whatever lies behind it: an ellipse inside the head's
  // outline (the jaw is never narrower than jaw x face_width), a few pixels in from it.
  const auto hidden_by_face = [&](double u, double v) {
    const double dy = v - who.center_y;
    const double x = dy < 0 ? u / who.face_width : u / (who.face_width * who.jaw), y = dy / (dy < 0 ? who.upper_height : chin);
    return x * x + y * y < 0.8;
  };
  // Strands: a faint ripple across the hair, so it reads as hair rather than a cap.
  const auto hair_tone = [&](double u, double v) { return who.hair * (1.0 + 0.12 * std::sin(55.0 * u + 9.0 * v * v)); };

  // Ears, then the hair behind the head, then the neck: everything the face covers.
  if (who.hair_style != hair_style::long_hair)
    for (int h = 0; h < 2; ++h)
      canvas.paint_ellipse(sign(h) * (who.face_width - 0.02), ear_y, 0.085, 0.17, skin * 0.86, 1.0);
  {
    const bool long_hair = who.hair_style == hair_style::long_hair;
    canvas.paint(detail::face_box{-hair_a - 0.1, -1.2, hair_a + 0.1, long_hair ? 1.2 : ear_y}, [&](double u, double v) {
      if (hidden_by_face(u, v)) return paint_sample{0.0, 0.0};
      double c = detail::edge_cover(detail::ellipse_distance(u, v - hair_cy, hair_a, hair_b), px);
      if (!long_hair) c *= detail::edge_cover(v - (who.eye_y - 0.02 + 0.25 * std::abs(u)), px * 3);
      if (long_hair && v > hair_cy) c = std::max(c, detail::edge_cover(std::abs(u) - (hair_a + 0.05), px));
      return paint_sample{c, c > 0.0 ? hair_tone(u, v) : 0.0};
    });
  }
  canvas.paint(detail::face_box{-0.7, who.center_y, 0.7, 1.2}, [&](double u, double v) {
    if (hidden_by_face(u, v)) return paint_sample{0.0, 0.0};
    return paint_sample{detail::edge_cover(std::abs(u) - 0.5 * who.face_width, px), skin * 0.7};
  });

  // The face: the ellipse above the cheekbones, a narrowing jaw below; darker towards the outline, as a
  // rounded surface lit from the front, and a little brighter on the lit side.
  canvas.paint(detail::face_box{-who.face_width, who.center_y - who.upper_height, who.face_width, who.center_y + chin},
               [&](double u, double v) {
                 const double dy = v - who.center_y;
                 const double height = dy < 0 ? who.upper_height : chin;
                 const double r = dy < 0 ? 0.0 : std::min(1.0, dy / chin);
                 const double width = who.face_width * (1.0 - (1.0 - who.jaw) * r * r);
                 const double k = detail::length(u / width, dy / height);
                 const double distance = k < 1e-12 ? -1.0 : detail::length(u, dy) * (1.0 - 1.0 / k);
                 const double tone = skin * (1.0 + who.light * u) * (1.0 - 0.2 * detail::smoothstep(0.55, 1.05, k));
                 return paint_sample{detail::edge_cover(distance, px), tone};
               });

  // Cheekbones catch the light; the cheek raiser lifts and rounds them.
  for (int h = 0; h < 2; ++h) {
    const double a6 = side(au::au6, h);
    canvas.paint_ellipse(sign(h) * (who.eye_spacing + 0.04), who.eye_y + 0.25 - 0.06 * a6, 0.15, 0.09 + 0.02 * a6,
                         skin * 1.1, 0.25 + 0.5 * a6, 0.12);
  }

  // Hair over the forehead, above a hairline that drops towards the temples (a fringe is nearly straight,
  // with strands).
  {
    const bool fringe = who.hair_style == hair_style::fringe;
    canvas.paint(detail::face_box{-hair_a, -1.2, hair_a, who.eye_y}, [&](double u, double v) {
      double line = who.hairline + who.hairline_curve * u * u + who.hair_part * u;
      if (fringe) line += 0.025 * std::sin(u * 38.0);
      const double c = detail::edge_cover(v - line, px * 1.5) *
                       detail::edge_cover(detail::ellipse_distance(u, v - hair_cy, hair_a, hair_b), px) *
                       detail::edge_cover(v - (who.eye_y - 0.03), px);
      return paint_sample{c, c > 0.0 ? hair_tone(u, v) : 0.0};
    });
  }

  // Forehead lines: the inner brow raiser creases the middle of the forehead, the outer raiser its sides.
  const double brow_y = who.eye_y - who.brow_gap;
  {
    const double a1 = both(au::au1), a2 = both(au::au2);
    const double lift = 0.05 * std::max(a1, a2);
    for (int k = 0; k < 3; ++k) {
      const double y = brow_y - 0.15 - 0.075 * k - lift;
      if (y < who.hairline + 0.08 + who.hairline_curve * 0.1) break;
      const stroke line{-0.36, y, 0.36, y, -0.02, 0.022, 0.022};
      canvas.paint(detail::stroke_box(line, false), [&](double u, double v) {
        const double weight = mix(a2, a1, detail::smoothstep(0.3, 0.05, std::abs(u)));
        return paint_sample{0.75 * weight * detail::stroke_cover(line, u, v, px), skin * 0.55};
      });
    }
  }

  // Eye sockets: soft shade between brow and lid.
  for (int h = 0; h < 2; ++h)
    canvas.paint_ellipse(sign(h) * who.eye_spacing, who.eye_y - 0.05, 0.19, 0.11, skin * 0.82, 0.5, 0.1);

  // Glabella: the brow lowerer draws vertical furrows between the brows; the nose wrinkler creases the root
  // of the nose across.
  {
    const double a4 = both(au::au4), a9 = both(au::au9);
    for (int h = 0; h < 2; ++h)
      canvas.paint_stroke(stroke{brow_y - 0.03, sign(h) * 0.045, brow_y + 0.1, sign(h) * 0.035, sign(h) * 0.008, 0.028, 0.02},
                                true, skin * 0.5, 0.85 * a4);
    for (int k = 0; k < 3; ++k) {
      const double y = who.eye_y + 0.0 + 0.045 * k;
      canvas.paint_stroke(stroke{-0.075, y, 0.075, y, 0.012, 0.022, 0.022}, false, skin * 0.5, 0.85 * a9);
    }
  }

  // Brows. Inner ends: up with AU1, down and together with AU4 (and a little with AU9); outer ends: up with
  // AU2. AU1 with AU4 gives the oblique brows of sadness and fear.
  for (int h = 0; h < 2; ++h) {
    const double s = sign(h);
    const double a1 = side(au::au1, h), a2 = side(au::au2, h), a4 = side(au::au4, h), a9 = side(au::au9, h);
    const double inner_x = s * (who.eye_spacing - 0.5 * who.brow_length - 0.035 * a4);
    const double outer_x = s * (who.eye_spacing + 0.5 * who.brow_length);
    const double inner_y = brow_y + 0.03 - 0.12 * a1 - 0.03 * a2 + 0.07 * a4 + 0.03 * a9;
    const double outer_y = brow_y + 0.01 - 0.11 * a2 - 0.02 * a1 + 0.035 * a4 + 0.01 * a9;
    const double arch = who.brow_arch + 0.03 * a2 - 0.02 * a4 + 0.01 * a1;
    const double t = who.brow_thickness;
    canvas.paint_stroke(stroke{inner_x, inner_y, outer_x, outer_y, -arch, t * (1.15 + 0.25 * a4), t * 0.75}, false,
                              std::min(who.hair + 15.0, skin * 0.45), 0.95);
  }

  // Eyes: the white between the lids, the iris and pupil inside it, the lash line on the upper lid, a fainter
  // lower lid, the lid crease above. AU5 opens the upper lid (white shows above the iris), AU6 and AU7 lift
  // and tighten the lower lid, AU45 shuts both.
  for (int h = 0; h < 2; ++h) {
    const double s = sign(h);
    const double a4 = side(au::au4, h), a5 = side(au::au5, h), a6 = side(au::au6, h), a7 = side(au::au7, h),
                 a9 = side(au::au9, h), a45 = side(au::au45, h);
    const double cx = s * who.eye_spacing, cy = who.eye_y + 0.01 * a6;
    const double hw = who.eye_width * (1.0 + 0.04 * a5 - 0.05 * a6 - 0.04 * a7);
    const double open = std::max(0.0, 1.0 - a45);
    const double up = who.eye_upper * (1.0 + 1.1 * a5) * (1.0 - 0.25 * a6) * (1.0 - 0.35 * a7) * (1.0 - 0.15 * a4) *
                      (1.0 - 0.2 * a9) * open;
    const double low = who.eye_lower * (1.0 - 0.7 * a6) * (1.0 - 0.55 * a7) * (1.0 + 0.15 * a5) * open;
    const auto lid_top = [&](double u) {
      const double t = (u - cx) / hw;
      return cy - up * std::max(0.0, 1.0 - t * t);
    };
    const auto lid_bottom = [&](double u) {
      const double t = (u - cx) / hw;
      return cy + low * std::max(0.0, 1.0 - t * t);
    };
    const detail::face_box eye_box{cx - hw, cy - up - px, cx + hw, cy + low + px};
    const double white = std::min(245.0, skin + 45.0);
    canvas.paint(eye_box, [&](double u, double v) {
      return paint_sample{detail::span_cover(v, lid_top(u), lid_bottom(u), px) * detail::span_cover(u, cx - hw, cx + hw, px),
                          white};
    });
    const double iris_y = cy + 0.012;
    canvas.paint(eye_box, [&](double u, double v) {
      const double inside = detail::span_cover(v, lid_top(u), lid_bottom(u), px);
      const double r = detail::length(u - cx, v - iris_y);
      const double iris = detail::edge_cover(r - who.iris, px), pupil = detail::edge_cover(r - 0.45 * who.iris, px);
      return paint_sample{inside * iris, mix(who.iris_tone, 12.0, pupil)};
    });
    // Lash line along the upper lid (heavier when closed), lower lid line, lid crease above.
    const double lash = 0.032 + 0.012 * a45;
    canvas.paint_stroke(stroke{cx - hw * 1.05, cy - 0.3 * lash, cx + hw * 1.05, cy - 0.3 * lash, -up, lash, lash},
                              false, 22.0, 0.95);
    canvas.paint_stroke(stroke{cx - hw, cy + 0.005, cx + hw, cy + 0.005, low, 0.016, 0.016}, false, skin * 0.55,
                              0.55);
    const double crease = up + 0.05 + 0.01 * a45;
    canvas.paint_stroke(stroke{cx - hw * 0.85, cy, cx + hw * 0.95, cy, -crease, 0.018, 0.018}, false, skin * 0.55,
                              0.5 * (1.0 - a5));
    // Cheek raiser: the furrow under the lower lid and crow's feet at the outer corner.
    canvas.paint_stroke(stroke{cx - hw * 0.8, cy + low + 0.07 - 0.02 * a6, cx + hw * 0.9, cy + low + 0.07 - 0.02 * a6,
                                     0.025, 0.024, 0.024},
                              false, skin * 0.5, 0.8 * a6);
    const double corner = cx + s * (hw + 0.025);
    for (int k = -1; k <= 1; ++k) {
      const stroke foot = s > 0 ? stroke{corner, cy + 0.01 * k, corner + 0.07, cy + 0.035 * k - 0.005, 0.0, 0.02, 0.014}
                                : stroke{corner - 0.07, cy + 0.035 * k - 0.005, corner, cy + 0.01 * k, 0.0, 0.014, 0.02};
      canvas.paint_stroke(foot, false, skin * 0.55, 0.7 * a6);
    }
  }

  // Nose: bridge shading, tip highlight, wings and nostrils. The nose wrinkler lifts and widens the wings;
  // the upper lip raiser lifts them a little.
  {
    const double a9 = both(au::au9), a10 = both(au::au10);
    const double tip = who.nose_y - 0.02 * a9;
    const double lift = 0.035 * a9 + 0.02 * a10;
    for (int h = 0; h < 2; ++h) {
      const double s = sign(h);
      canvas.paint_stroke(stroke{who.eye_y + 0.06, s * 0.06, tip - 0.07, s * who.nose_width * 0.8, s * 0.01, 0.05, 0.04},
                                true, skin * 0.78, 0.45);
    }
    canvas.paint_ellipse(0.0, tip - 0.04, 0.05, 0.045, skin * 1.1, 0.5, 0.05);
    for (int h = 0; h < 2; ++h) {
      const double s = sign(h);
      const double wing = who.nose_width * (1.0 + 0.12 * a9);
      canvas.paint_stroke(stroke{tip - 0.08 - lift, s * wing * 0.75, tip + 0.03 - lift, s * wing * 0.8, s * 0.05, 0.022, 0.026},
                                true, skin * 0.55, 0.8);
      canvas.paint_ellipse(s * wing * 0.5, tip + 0.025 - lift, 0.036 + 0.006 * a9, 0.018, skin * 0.3, 0.9);
    }
    canvas.paint_stroke(stroke{-who.nose_width * 0.45, tip + 0.04 - lift, who.nose_width * 0.45, tip + 0.04 - lift, 0.012,
                                     0.018, 0.018},
                              false, skin * 0.6, 0.5);
  }

  // Mouth geometry. Corners: up and out with AU12, down with AU15, out with AU20, in with AU14/AU24/AU26.
  // Middle: up with AU17 (the chin pushes the lower lip up), the upper lip up with AU10. Lips thin with AU24
  // (pressed), AU20 and AU12 (stretched); AU17 pouts the lower lip.
  detail::mouth_shape mouth;
  {
    const double a10 = both(au::au10), a17 = both(au::au17), a20 = both(au::au20), a24 = both(au::au24),
                 a25 = both(au::au25), a26 = both(au::au26), a12 = both(au::au12);
    mouth.centre_y = who.mouth_y - 0.05 * a17 - 0.015 * a10 + 0.02 * a26;
    for (int h = 0; h < 2; ++h) {
      const double c12 = side(au::au12, h), c14 = side(au::au14, h), c15 = side(au::au15, h), c20 = side(au::au20, h),
                   c24 = side(au::au24, h), c26 = side(au::au26, h), c10 = side(au::au10, h);
      mouth.corner_x[h] = who.mouth_width * (1.0 + 0.16 * c12 + 0.32 * c20 - 0.1 * c14 - 0.08 * c24 - 0.1 * c26 + 0.04 * c10);
      mouth.corner_y[h] = who.mouth_y - 0.12 * c12 + 0.1 * c15 + 0.015 * c20 - 0.02 * c14 - 0.01 * c10 + 0.02 * c26 - 0.015 * side(au::au17, h);
    }
    mouth.open = 0.17 * a26 + 0.045 * a25 + 0.01 * a20;
    mouth.raise = 0.05 * a10;
    mouth.upper = who.upper_lip * std::max(0.15, 1.0 - 0.8 * a24 - 0.35 * a20 - 0.25 * a12 - 0.2 * a10);
    mouth.lower = who.lower_lip * std::max(0.15, 1.0 - 0.75 * a24 - 0.35 * a20 - 0.2 * a12 + 0.3 * a17);
  }
  const double mouth_half = std::max(mouth.corner_x[0], mouth.corner_x[1]);

  // Nasolabial folds, from the nose wings to beyond the mouth corners: faint at rest, deep when the cheeks or
  // the upper lip rise (AU6, AU12, AU9, AU10), shallower when the lips stretch.
  for (int h = 0; h < 2; ++h) {
    const double s = sign(h);
    const double depth = std::max({0.6 * side(au::au6, h), side(au::au12, h), side(au::au9, h), side(au::au10, h)});
    const double top_y = who.nose_y - 0.05 - 0.03 * side(au::au10, h) - 0.03 * side(au::au9, h);
    const double top_x = s * (who.nose_width + 0.04);
    const double bottom_x = s * (mouth.corner_x[h] + 0.045 + 0.02 * side(au::au20, h));
    const double bottom_y = mouth.corner_y[h] + 0.02;
    canvas.paint_stroke(stroke{top_y, top_x, bottom_y, bottom_x, s * (0.035 + 0.03 * side(au::au12, h)), 0.03, 0.02},
                              true, skin * 0.55, 0.2 + 0.7 * clamp01(depth));
  }

  // Lips, the mouth's inside and teeth, the line where closed lips meet.
  {
    const detail::face_box box{-mouth_half - px, mouth.centre_y - 0.2, mouth_half + px, mouth.centre_y + 0.3};
    const auto across = [&](double u) {
      return detail::span_cover(u, -mouth.corner_x[0], mouth.corner_x[1], px);
    };
    canvas.paint(box, [&](double u, double v) {
      const auto e = mouth.at(u);
      return paint_sample{across(u) * detail::span_cover(v, e.lower_top, e.lower_bottom, px), who.lips};
    });
    canvas.paint(box, [&](double u, double v) {
      const auto e = mouth.at(u);
      return paint_sample{across(u) * detail::span_cover(v, e.upper_top, e.upper_bottom, px), who.lips * 0.88};
    });
    canvas.paint(box, [&](double u, double v) {
      const auto e = mouth.at(u);
      const double gap = detail::span_cover(v, e.upper_bottom, e.lower_top, px);
      const double teeth = detail::span_cover(v, e.upper_bottom, std::min(e.lower_top, e.upper_bottom + 0.05), px);
      const double tone = mix(30.0, std::min(225.0, skin + 30.0), teeth / std::max(gap, 1e-9) * clamp01(std::abs(u) < 0.16 ? 1.0 : 0.6));
      return paint_sample{across(u) * gap, tone};
    });
    const double line_width = 0.03 + 0.03 * both(au::au24);
    canvas.paint(box, [&](double u, double v) {
      const auto e = mouth.at(u);
      const double closed = 1.0 - clamp01((e.lower_top - e.upper_bottom) / 0.04);
      const double d = (v - e.line) / std::sqrt(1.0 + e.slope * e.slope);
      return paint_sample{closed * across(u) * detail::span_cover(d, -0.5 * line_width, 0.5 * line_width, px), who.lips * 0.35};
    });
  }

  // Pressed lips push the skin around them out: it bulges and catches the light above and below the mouth.
  {
    const double a24 = both(au::au24);
    const auto e = mouth.at(0.0);
    canvas.paint_ellipse(0.0, e.upper_top - 0.045, mouth_half * 0.8, 0.04, skin * 1.15, 0.7 * a24, 0.05);
    canvas.paint_ellipse(0.0, e.lower_bottom + 0.04, mouth_half * 0.7, 0.035, skin * 1.15, 0.7 * a24, 0.05);
  }

  // Mouth corners: the dimpler's pits, the lip corner depressor's lines down towards the jaw.
  for (int h = 0; h < 2; ++h) {
    const double s = sign(h);
    const double x = s * mouth.corner_x[h], y = mouth.corner_y[h];
    const double a14 = side(au::au14, h);
    canvas.paint_stroke(stroke{y - 0.08, x + s * 0.045, y + 0.06, x + s * 0.04, s * 0.015, 0.034, 0.024}, true, skin * 0.45,
                        0.9 * a14);
    canvas.paint_ellipse(x + s * 0.012, y, 0.024, 0.022, skin * 0.4, 0.85 * a14);
    canvas.paint_stroke(stroke{y + 0.02, x + s * 0.01, y + 0.13, x + s * 0.03, s * 0.005, 0.026, 0.018}, true, skin * 0.5,
                              0.8 * side(au::au15, h));
  }

  // Chin: the crease under the lower lip deepens when the chin raiser pushes the chin boss up, which then
  // catches the light.
  {
    const double a17 = both(au::au17);
    const auto e = mouth.at(0.0);
    const double y = e.lower_bottom + 0.065 - 0.015 * a17;
    canvas.paint_stroke(stroke{-0.12, y, 0.12, y, -0.025 - 0.015 * a17, 0.028 + 0.012 * a17, 0.028 + 0.012 * a17}, false,
                        skin * 0.45, 0.2 + 0.8 * a17);
    canvas.paint_ellipse(0.0, y + 0.1, 0.14, 0.08, skin * 1.18, 0.75 * a17, 0.06);
    // The raised chin boss dimples (peau d'orange): a few pits where the mentalis pulls the skin.
    for (int k = 0; k < 5; ++k)
      canvas.paint_ellipse(0.055 * (k - 2), y + 0.1 + 0.025 * ((k % 2) * 2 - 1), 0.013, 0.013, skin * 0.8, 0.4 * a17);
  }

  if (who.mole) canvas.paint_ellipse(who.mole_x, who.mole_y, who.mole_radius, who.mole_radius, skin * 0.4, 0.9);

  // Glasses: two rounded frames and the bridge, fixed to the head (they do not follow the brows).
  if (who.glasses) {
    const double a = who.eye_width + 0.07, b = who.eye_upper + 0.08, width = 0.028;
    for (int h = 0; h < 2; ++h) {
      const double cx = sign(h) * who.eye_spacing, cy = who.eye_y + 0.005;
      canvas.paint(detail::face_box{cx - a - width, cy - b - width, cx + a + width, cy + b + width}, [&](double u, double v) {
        const double d = std::abs(detail::ellipse_distance(u - cx, v - cy, a, b)) - 0.5 * width;
        return paint_sample{0.95 * detail::edge_cover(d, px), who.glasses_tone};
      });
    }
    const double inner = who.eye_spacing - who.eye_width - 0.07;
    canvas.paint_stroke(stroke{-inner, who.eye_y - 0.02, inner, who.eye_y - 0.02, -0.02, width, width}, false,
                              who.glasses_tone, 0.95);
  }
  // Highlights on light skin and the lit top of a light wall can pass white; a camera clips them.
  for (float& p : img.pixels) p = std::clamp(p, 0.0f, 255.0f);
  return img;
}

}  // namespace data
FERGEN_END_NAMESPACE
