// fergen/models/backbone_names.hpp: the study's three backbones and two sizes by name, and the smallest input each
// accepts: what plans, options and estimates need without building a network (models/backbones.hpp builds them).
#pragma once

#include <fergen/core/error.hpp>

#include <array>
#include <cstdint>
#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace models {

enum class backbone { vgg16, resnet50, inception_v3 };
inline constexpr std::array<backbone, 3> all_backbones{backbone::vgg16, backbone::resnet50, backbone::inception_v3};

// full: torchvision's network (ImageNet weights load into it). small: a narrow, shallow variant of the same
// family, the same code with another configuration, for training from scratch on a small CPU.
enum class backbone_size { full, small };

inline std::string_view to_string(backbone b) {
  switch (b) {
    case backbone::vgg16: return "vgg16";
    case backbone::resnet50: return "resnet50";
    case backbone::inception_v3: return "inception_v3";
  }
  return "?";
}
inline std::string_view to_string(backbone_size s) { return s == backbone_size::full ? "full" : "small"; }

inline backbone parse_backbone(std::string_view name) {
  for (const backbone b : all_backbones)
    if (name == to_string(b)) return b;
  fail("backbone '", name, "' is not one of: vgg16, resnet50, inception_v3");
}
inline backbone_size parse_backbone_size(std::string_view name) {
  if (name == "full") return backbone_size::full;
  if (name == "small") return backbone_size::small;
  fail("backbone size '", name, "' is not one of: full, small");
}

// The smallest height and width a backbone accepts.
constexpr std::int64_t min_input_size(backbone b, backbone_size s, bool aux_logits = false) {
  switch (b) {
    case backbone::vgg16: return 32;  // five 2x2 max-pools, in both sizes
    case backbone::resnet50: return 1;
    case backbone::inception_v3: return aux_logits ? 299 : 75;
  }
  (void)s;
  return 1;
}

}  // namespace models
FERGEN_END_NAMESPACE
