// fergen/augment/policy.hpp: what an augmentation policy is, and the policy that does nothing.
#pragma once

#include <fergen/core/rng.hpp>
#include <fergen/data/image.hpp>

#include <concepts>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace augment {

// A policy splits augmentation into a random part and a deterministic part, so that the batch loader can
// draw every image's parameters on one thread, in order (same seed, same parameters, whatever the number of
// workers), and apply them on many:
//   sample(g, height, width) draws the parameters for an image of that size (shifts given as fractions
//                            need the size);
//   apply(image, params)     is a pure function of its arguments.
template <class P>
concept policy = requires(const P& p, generator& g, const data::image& img, const typename P::params& q) {
  typename P::params;
  { p.sample(g, img.height, img.width) } -> std::same_as<typename P::params>;  // random parameters
  { p.apply(img, q) } -> std::same_as<data::image>;                            // deterministic
};

// No augmentation: draws nothing (the generator is left untouched) and returns the image as it is.
struct none {
  struct params {
    friend bool operator==(const params&, const params&) = default;
  };
  params sample(generator&, std::int64_t, std::int64_t) const { return {}; }
  data::image apply(const data::image& img, const params&) const { return img; }
};

}  // namespace augment
FERGEN_END_NAMESPACE
