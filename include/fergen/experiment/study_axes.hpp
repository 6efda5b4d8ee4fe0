// fergen/experiment/study_axes.hpp: the axes of the study's grid (settings, configurations, protocols) and
// the backbones it judges with, by the names the tool and the result files use.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/key_value.hpp>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

// Which data a classifier trains on and which it is tested on (the study's Settings 1-4).
enum class setting { real_real, synth_synth, real_synth, synth_real };
inline constexpr std::array all_settings{setting::real_real, setting::synth_synth, setting::real_synth,
                                         setting::synth_real};

// The study's ablations: none, Keras-style augmentation of the training images, the first 30% of the
// learnable layers frozen.
enum class configuration { baseline, augment, freeze30 };
inline constexpr std::array all_configurations{configuration::baseline, configuration::augment,
                                               configuration::freeze30};

// How real frames are divided between training and testing. `random` is the study's frame-level 80/20 (frames
// of one clip on both sides); `loso` and `subject_kfold` keep every subject on one side.
enum class protocol { random, loso, subject_kfold };

inline constexpr std::array<std::string_view, 3> backbone_names{"vgg16", "resnet50", "inception_v3"};

// One value of an axis with its name and, in the study's words, what it means. Each axis is one table, so that
// name, describe and parse cannot disagree.
template <class Value>
struct axis_value {
  Value value;
  std::string_view name;
  std::string_view description;
};

inline constexpr std::array<axis_value<setting>, 4> setting_axis{{
    {setting::real_real, "real-real", "trained and tested on real frames"},
    {setting::synth_synth, "synth-synth", "trained and tested on synthetic images"},
    {setting::real_synth, "real-synth", "trained on real frames, tested on synthetic images"},
    {setting::synth_real, "synth-real", "trained on synthetic images, tested on real frames"},
}};
inline constexpr std::array<axis_value<configuration>, 3> configuration_axis{{
    {configuration::baseline, "baseline", "no augmentation, nothing frozen"},
    {configuration::augment, "augment",
     "augmentation: rotation 15, horizontal flip, shifts 0.1, brightness 0.8-1.2, fill nearest"},
    {configuration::freeze30, "freeze30", "the first 30% of the learnable layers frozen"},
}};
inline constexpr std::array<axis_value<protocol>, 3> protocol_axis{{
    {protocol::random, "random", "the study's frame-level random 80/20 split (leaks clips and subjects)"},
    {protocol::loso, "loso", "leave one subject out (subject-independent)"},
    {protocol::subject_kfold, "subject-kfold", "subject k-fold (subject-independent)"},
}};

namespace detail {
// The entry of `v` in its axis; nullptr for a value outside the enumeration.
template <class Value, std::size_t N>
constexpr const axis_value<Value>* axis_entry(const std::array<axis_value<Value>, N>& axis, Value v) {
  for (const auto& e : axis)
    if (e.value == v) return &e;
  return nullptr;
}
template <class Value, std::size_t N>
constexpr std::string_view axis_name(const std::array<axis_value<Value>, N>& axis, Value v) {
  const auto* e = axis_entry(axis, v);
  return e ? e->name : "?";
}
template <class Value, std::size_t N>
constexpr std::string_view axis_description(const std::array<axis_value<Value>, N>& axis, Value v) {
  const auto* e = axis_entry(axis, v);
  return e ? e->description : "?";
}
// The value named `text`, or an error listing the known names; `what` names the axis.
template <class Value, std::size_t N>
Value parse_axis(std::string_view what, std::string_view text, const std::array<axis_value<Value>, N>& axis) {
  std::string known;
  for (const auto& e : axis) {
    if (e.name == text) return e.value;
    known += (known.empty() ? "" : ", ") + std::string(e.name);
  }
  fail("unknown ", what, " '", text, "' (known: ", known, ")");
}
}  // namespace detail

inline std::string_view name(setting s) { return detail::axis_name(setting_axis, s); }
inline std::string_view name(configuration c) { return detail::axis_name(configuration_axis, c); }
inline std::string_view name(protocol p) { return detail::axis_name(protocol_axis, p); }
// What a value means, in the study's words.
inline std::string_view describe(setting s) { return detail::axis_description(setting_axis, s); }
inline std::string_view describe(configuration c) { return detail::axis_description(configuration_axis, c); }
inline std::string_view describe(protocol p) { return detail::axis_description(protocol_axis, p); }

inline setting parse_setting(std::string_view text) { return detail::parse_axis("setting", text, setting_axis); }
inline configuration parse_configuration(std::string_view text) {
  return detail::parse_axis("configuration", text, configuration_axis);
}
inline protocol parse_protocol(std::string_view text) { return detail::parse_axis("protocol", text, protocol_axis); }
inline std::string parse_backbone(std::string_view text) {
  for (const auto b : backbone_names)
    if (b == text) return std::string(b);
  fail("unknown backbone '", text, "' (known: vgg16, resnet50, inception_v3)");
}

// Does this setting test on real frames? Only those can be subject-independent: a synthetic image has no
// subject, and the generator that made it learned from the training subjects.
inline bool tests_on_real(setting s) { return s == setting::real_real || s == setting::synth_real; }
inline bool trains_on_synthetic(setting s) { return s == setting::synth_synth || s == setting::synth_real; }
inline bool tests_on_synthetic(setting s) { return s == setting::synth_synth || s == setting::real_synth; }

// A comma-separated list ("a,b,c"; "all" where allowed) as its items, each parsed by `parse`
// (core/key_value.hpp splits it).
template <class Parse>
auto parse_list(std::string_view text, Parse&& parse) {
  std::vector<decltype(parse(std::string_view{}))> out;
  for (const std::string_view item : split_list(text, "")) out.push_back(parse(item));
  return out;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
