// fergen/augment/policies.hpp: the ImageDataGenerator options as policy types, each drawing its part of
// the Keras transformation parameters the way Keras does.
#pragma once

#include <fergen/augment/fill_mode.hpp>
#include <fergen/augment/policy.hpp>
#include <fergen/augment/transform.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/rng.hpp>
#include <fergen/data/image.hpp>

#include <cmath>
#include <concepts>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace augment {

namespace detail {

// Where each Keras parameter comes from in an image's random stream: one fixed position per parameter
// (two 32-bit words each), so a parameter depends on the seed and the image only, never on which other
// options are on or on the order they were listed in: compose<rotation, brightness> and
// compose<brightness, rotation> draw the same values, and adding zoom does not change the rotations.
enum class draw_slot : std::uint64_t { theta, tx, ty, zx, zy, flip_h, flip_v, brightness };

// Uniform in [0, 1) with 53 bits, like numpy's random().
inline double uniform01(const random_stream& s, draw_slot slot) {
  const std::uint64_t i = 2 * static_cast<std::uint64_t>(slot);
  const std::uint64_t x = (std::uint64_t{s.bits(i)} << 32) | s.bits(i + 1);
  return static_cast<double>(x >> 11) * (1.0 / 9007199254740992.0);
}

// numpy's uniform(low, high): low + (high - low) * u, in [low, high).
inline double uniform(const random_stream& s, draw_slot slot, double low, double high) {
  return low + (high - low) * uniform01(s, slot);
}

inline void require_size(const char* who, std::int64_t height, std::int64_t width) {
  require(height > 0 && width > 0, who, ": image size ", height, " x ", width, " is not positive");
}

template <class Stage>
typename Stage::params sample_stage(const Stage& stage, const char* who, generator& g, std::int64_t height,
                                    std::int64_t width) {
  stage.validate();
  require_size(who, height, width);
  return stage.draw(g.take(), height, width);
}

// One option alone: its parameters over the identity, through the same apply as a full composition.
template <class Stage>
data::image apply_stage(const Stage& stage, const data::image& img, const typename Stage::params& q) {
  stage.validate();
  transform t;
  stage.write_to(t, q);
  return augment::apply(img, t);
}

}  // namespace detail

// One Keras option. Besides being a policy, a stage draws from a given stream (compose hands every stage the
// same per-image stream) and writes its parameters into the transform that compose applies in Keras' order.
template <class S>
concept keras_stage = policy<S> && requires(const S& s, const random_stream& r, std::int64_t n, transform& t,
                                            const typename S::params& q) {
  { s.validate() } -> std::same_as<void>;
  { s.draw(r, n, n) } -> std::same_as<typename S::params>;
  { s.write_to(t, q) } -> std::same_as<void>;
};

// rotation_range: theta uniform in [-degrees, degrees).
struct rotation {
  double degrees = 0;

  struct params {
    double theta = 0;
    friend bool operator==(const params&, const params&) = default;
  };

  void validate() const {
    require(std::isfinite(degrees) && degrees >= 0, "augment::rotation: degrees ", degrees,
            " must be a finite range >= 0 (theta is drawn from [-degrees, degrees])");
  }
  params draw(const random_stream& s, std::int64_t, std::int64_t) const {
    return {degrees != 0 ? detail::uniform(s, detail::draw_slot::theta, -degrees, degrees) : 0.0};
  }
  void write_to(transform& t, const params& q) const { t.rotation = q.theta; }
  params sample(generator& g, std::int64_t height, std::int64_t width) const {
    return detail::sample_stage(*this, "augment::rotation", g, height, width);
  }
  data::image apply(const data::image& img, const params& q) const { return detail::apply_stage(*this, img, q); }
};

// height_shift_range and width_shift_range. Keras' rule: a range below 1 is a fraction of the image's size
// (the draw is multiplied by the height or width), a range of 1 or more is in pixels. Keras draws an int
// range from the integers; fergen's ranges are real, so 2.0 means uniform in [-2, 2) pixels, as Keras' float 2.0.
struct shift {
  double height = 0;  // moves rows (Keras' tx)
  double width = 0;   // moves columns (Keras' ty)

  struct params {
    double rows = 0;  // pixels
    double cols = 0;  // pixels
    friend bool operator==(const params&, const params&) = default;
  };

  // The rule above, applied to a value drawn uniformly from [-range, range).
  static double to_pixels(double drawn, double range, std::int64_t extent) {
    return range < 1 ? drawn * static_cast<double>(extent) : drawn;
  }

  void validate() const {
    require(std::isfinite(height) && height >= 0, "augment::shift: height ", height,
            " must be a finite range >= 0 (a fraction of the height below 1, pixels from 1)");
    require(std::isfinite(width) && width >= 0, "augment::shift: width ", width,
            " must be a finite range >= 0 (a fraction of the width below 1, pixels from 1)");
  }
  params draw(const random_stream& s, std::int64_t image_height, std::int64_t image_width) const {
    params q;
    if (height != 0) q.rows = to_pixels(detail::uniform(s, detail::draw_slot::tx, -height, height), height, image_height);
    if (width != 0) q.cols = to_pixels(detail::uniform(s, detail::draw_slot::ty, -width, width), width, image_width);
    return q;
  }
  void write_to(transform& t, const params& q) const {
    t.shift_rows = q.rows;
    t.shift_cols = q.cols;
  }
  params sample(generator& g, std::int64_t image_height, std::int64_t image_width) const {
    return detail::sample_stage(*this, "augment::shift", g, image_height, image_width);
  }
  data::image apply(const data::image& img, const params& q) const { return detail::apply_stage(*this, img, q); }
};

// zoom_range: zx and zy drawn independently from [low, high) (nothing drawn when both are 1, as Keras).
// Keras' float zoom_range z is zoom::range(z) = [1 - z, 1 + z]. A factor above 1 shows more of the image.
struct zoom {
  double low = 1;
  double high = 1;

  struct params {
    double rows = 1;  // zx
    double cols = 1;  // zy
    friend bool operator==(const params&, const params&) = default;
  };

  static zoom range(double z) {
    require(std::isfinite(z) && z >= 0 && z < 1, "augment::zoom: zoom_range ", z,
            " must be in [0, 1) (it gives factors in [1 - z, 1 + z], which must stay positive)");
    return {1 - z, 1 + z};
  }

  void validate() const {
    require(std::isfinite(low) && std::isfinite(high), "augment::zoom: range [", low, ", ", high, "] is not finite");
    require(low > 0, "augment::zoom: low ", low, " must be > 0 (a factor <= 0 is not a zoom)");
    require(low <= high, "augment::zoom: low ", low, " is above high ", high);
  }
  params draw(const random_stream& s, std::int64_t, std::int64_t) const {
    if (low == 1 && high == 1) return {};
    return {detail::uniform(s, detail::draw_slot::zx, low, high), detail::uniform(s, detail::draw_slot::zy, low, high)};
  }
  void write_to(transform& t, const params& q) const {
    t.zoom_rows = q.rows;
    t.zoom_cols = q.cols;
  }
  params sample(generator& g, std::int64_t height, std::int64_t width) const {
    return detail::sample_stage(*this, "augment::zoom", g, height, width);
  }
  data::image apply(const data::image& img, const params& q) const { return detail::apply_stage(*this, img, q); }
};

// horizontal_flip: columns reversed with probability 1/2.
struct horizontal_flip {
  struct params {
    bool flip = false;
    friend bool operator==(const params&, const params&) = default;
  };

  void validate() const {}
  params draw(const random_stream& s, std::int64_t, std::int64_t) const {
    return {detail::uniform01(s, detail::draw_slot::flip_h) < 0.5};
  }
  void write_to(transform& t, const params& q) const { t.flip_h = q.flip; }
  params sample(generator& g, std::int64_t height, std::int64_t width) const {
    return detail::sample_stage(*this, "augment::horizontal_flip", g, height, width);
  }
  data::image apply(const data::image& img, const params& q) const { return detail::apply_stage(*this, img, q); }
};

// vertical_flip: rows reversed with probability 1/2.
struct vertical_flip {
  struct params {
    bool flip = false;
    friend bool operator==(const params&, const params&) = default;
  };

  void validate() const {}
  params draw(const random_stream& s, std::int64_t, std::int64_t) const {
    return {detail::uniform01(s, detail::draw_slot::flip_v) < 0.5};
  }
  void write_to(transform& t, const params& q) const { t.flip_v = q.flip; }
  params sample(generator& g, std::int64_t height, std::int64_t width) const {
    return detail::sample_stage(*this, "augment::vertical_flip", g, height, width);
  }
  data::image apply(const data::image& img, const params& q) const { return detail::apply_stage(*this, img, q); }
};

// brightness_range: a factor drawn from [low, high); the image is multiplied by it and clipped to [0, 255].
struct brightness {
  double low = 1;
  double high = 1;

  struct params {
    double factor = 1;
    friend bool operator==(const params&, const params&) = default;
  };

  void validate() const {
    require(std::isfinite(low) && std::isfinite(high), "augment::brightness: range [", low, ", ", high,
            "] is not finite");
    require(low >= 0, "augment::brightness: low ", low, " is negative");
    require(low <= high, "augment::brightness: low ", low, " is above high ", high);
  }
  params draw(const random_stream& s, std::int64_t, std::int64_t) const {
    return {detail::uniform(s, detail::draw_slot::brightness, low, high)};
  }
  void write_to(transform& t, const params& q) const { t.brightness = q.factor; }
  params sample(generator& g, std::int64_t height, std::int64_t width) const {
    return detail::sample_stage(*this, "augment::brightness", g, height, width);
  }
  data::image apply(const data::image& img, const params& q) const { return detail::apply_stage(*this, img, q); }
};

// fill_mode and cval: no randomness, they only say how the warp fills (alone, there is no warp to fill).
struct fill {
  fill_mode mode = fill_mode::nearest;
  float cval = 0;

  struct params {
    friend bool operator==(const params&, const params&) = default;
  };

  void validate() const {
    require(is_valid(mode), "augment::fill: mode ", mode, " is not one of ", valid_fill_modes);
    require(std::isfinite(cval), "augment::fill: cval ", cval, " is not finite");
  }
  params draw(const random_stream&, std::int64_t, std::int64_t) const { return {}; }
  void write_to(transform& t, const params&) const {
    t.fill = mode;
    t.cval = cval;
  }
  params sample(generator& g, std::int64_t height, std::int64_t width) const {
    return detail::sample_stage(*this, "augment::fill", g, height, width);
  }
  data::image apply(const data::image& img, const params& q) const { return detail::apply_stage(*this, img, q); }
};

// rescale: x * factor after every other stage (Keras applies it in standardize, after apply_transform).
struct rescale {
  double factor = 1;

  struct params {
    friend bool operator==(const params&, const params&) = default;
  };

  void validate() const {
    require(std::isfinite(factor) && factor != 0, "augment::rescale: factor ", factor,
            " must be finite and nonzero (1 means no rescaling)");
  }
  params draw(const random_stream&, std::int64_t, std::int64_t) const { return {}; }
  void write_to(transform& t, const params&) const { t.rescale = factor; }
  params sample(generator& g, std::int64_t height, std::int64_t width) const {
    return detail::sample_stage(*this, "augment::rescale", g, height, width);
  }
  data::image apply(const data::image& img, const params& q) const { return detail::apply_stage(*this, img, q); }
};

}  // namespace augment
FERGEN_END_NAMESPACE
