// fergen/augment/study.hpp: the augmentation of the reference study's ablation, as a policy.
#pragma once

#include <fergen/augment/compose.hpp>
#include <fergen/augment/fill_mode.hpp>
#include <fergen/augment/policies.hpp>

FERGEN_BEGIN_NAMESPACE
namespace augment {

using study_augmentation = compose<rotation, shift, horizontal_flip, brightness, fill, rescale>;

// The study's ImageDataGenerator(rotation_range=15, width_shift_range=0.1, height_shift_range=0.1,
// horizontal_flip=True, brightness_range=[0.8, 1.2], fill_mode='nearest', rescale=1./255): the shifts are
// fractions of the image size (0.1 < 1), and the output is on the [0, 1] scale.
inline study_augmentation study_policy() {
  return study_augmentation{rotation{.degrees = 15},
                            shift{.height = 0.1, .width = 0.1},
                            horizontal_flip{},
                            brightness{.low = 0.8, .high = 1.2},
                            fill{.mode = fill_mode::nearest, .cval = 0.0f},
                            rescale{.factor = 1.0 / 255.0}};
}

}  // namespace augment
FERGEN_END_NAMESPACE
