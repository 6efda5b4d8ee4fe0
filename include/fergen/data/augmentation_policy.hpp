// fergen/data/augmentation_policy.hpp: what the batch loader needs of an augmentation policy.
#pragma once

#include <fergen/core/rng.hpp>
#include <fergen/data/image.hpp>

#include <concepts>
#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace data {

// A policy splits augmentation into a random part and a deterministic part, so that the batch loader can
// draw every image's parameters from a generator of that image's own (same seed, same parameters, whatever
// the number of workers) and apply them on any thread:
//   sample(g, height, width) draws the parameters for an image of that size (shifts given as fractions
//                            need the size);
//   apply(image, params)     is a pure function of its arguments.
// The concept lives here, below the policies themselves (fergen/augment), because the loader is the layer
// that consumes them; augment::policy is the same concept under the augmentation layer's name.
template <class P>
concept augmentation_policy = requires(const P& p, generator& g, const image& img, const typename P::params& q) {
  typename P::params;
  { p.sample(g, img.height, img.width) } -> std::same_as<typename P::params>;  // random parameters
  { p.apply(img, q) } -> std::same_as<image>;                                  // deterministic
};

// No augmentation: draws nothing (the generator is left untouched) and returns the image as it is.
struct no_augmentation {
  struct params {
    friend bool operator==(const params&, const params&) = default;
  };
  params sample(generator&, std::int64_t, std::int64_t) const { return {}; }
  image apply(const image& img, const params&) const { return img; }
};

}  // namespace data
FERGEN_END_NAMESPACE
