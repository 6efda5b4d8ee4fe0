// fergen/augment/compose.hpp: several Keras options as one policy, applied in Keras' fixed stage order.
#pragma once

#include <fergen/augment/policies.hpp>
#include <fergen/augment/policy.hpp>
#include <fergen/augment/transform.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/rng.hpp>
#include <fergen/data/image.hpp>

#include <cstdint>
#include <tuple>
#include <type_traits>

FERGEN_BEGIN_NAMESPACE
namespace augment {

namespace detail {

template <class T, class... Ts>
inline constexpr bool listed_once = (std::is_same_v<T, Ts> + ... + 0) == 1;

}  // namespace detail

// compose<rotation, shift, horizontal_flip, brightness, fill, rescale>: an ImageDataGenerator configured with
// those options. Its params are one transform (what get_random_transform returns, plus fill and rescale);
// apply runs ONE warp, the flips, brightness, rescale, in that order whatever order the options are listed
// in, because Keras' apply_transform has that order built in. Each option draws from a fixed position of a
// per-image stream (see detail::draw_slot), so listing order does not change the draws either.
template <class... Stages>
class compose {
  static_assert((keras_stage<Stages> && ...),
                "fergen::augment::compose: every part must be a Keras option (rotation, shift, zoom, "
                "horizontal_flip, vertical_flip, brightness, fill, rescale); wrap other policies separately");
  static_assert((detail::listed_once<Stages, Stages...> && ...),
                "fergen::augment::compose: an option is listed twice; Keras has one value per option");

 public:
  using params = transform;

  compose() = default;
  explicit compose(Stages... stages)
    requires(sizeof...(Stages) > 0)
      : stages_(stages...) {
    validate();  // a bad option fails where the policy is made, not at the first batch
  }

  template <class Stage>
  const Stage& get() const {
    return std::get<Stage>(stages_);
  }

  void validate() const {
    std::apply([](const auto&... stage) { (stage.validate(), ...); }, stages_);
  }

  // One stream per image: the same seed gives the same transforms, image after image.
  transform sample(generator& g, std::int64_t height, std::int64_t width) const {
    validate();
    detail::require_size("augment::compose", height, width);
    const random_stream stream = g.take();
    transform t;
    std::apply([&](const auto&... stage) { (stage.write_to(t, stage.draw(stream, height, width)), ...); }, stages_);
    return t;
  }

  data::image apply(const data::image& img, const transform& q) const { return augment::apply(img, q); }

 private:
  std::tuple<Stages...> stages_;
};

template <class... Stages>
compose(Stages...) -> compose<Stages...>;

}  // namespace augment
FERGEN_END_NAMESPACE
