// fergen/augment/policy.hpp: what an augmentation policy is, and the policy that does nothing, under the
// augmentation layer's names (the definitions sit in data/augmentation_policy.hpp, beside the batch loader
// that consumes policies, because data is the lower layer).
#pragma once

#include <fergen/data/augmentation_policy.hpp>

FERGEN_BEGIN_NAMESPACE
namespace augment {

template <class P>
concept policy = data::augmentation_policy<P>;

using none = data::no_augmentation;

}  // namespace augment
FERGEN_END_NAMESPACE
