// fergen/experiment/study_axes.hpp: the axes of the study's grid (settings, configurations, protocols) and
// the backbones it judges with, by the names the tool and the result files use.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/key_value.hpp>

#include <array>
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

inline std::string_view name(setting s) {
  switch (s) {
    case setting::real_real: return "real-real";
    case setting::synth_synth: return "synth-synth";
    case setting::real_synth: return "real-synth";
    case setting::synth_real: return "synth-real";
  }
  return "?";
}
inline std::string_view name(configuration c) {
  switch (c) {
    case configuration::baseline: return "baseline";
    case configuration::augment: return "augment";
    case configuration::freeze30: return "freeze30";
  }
  return "?";
}
inline std::string_view name(protocol p) {
  switch (p) {
    case protocol::random: return "random";
    case protocol::loso: return "loso";
    case protocol::subject_kfold: return "subject-kfold";
  }
  return "?";
}

// What a setting means, in the study's words.
inline std::string_view describe(setting s) {
  switch (s) {
    case setting::real_real: return "trained and tested on real frames";
    case setting::synth_synth: return "trained and tested on synthetic images";
    case setting::real_synth: return "trained on real frames, tested on synthetic images";
    case setting::synth_real: return "trained on synthetic images, tested on real frames";
  }
  return "?";
}
inline std::string_view describe(configuration c) {
  switch (c) {
    case configuration::baseline: return "no augmentation, nothing frozen";
    case configuration::augment:
      return "augmentation: rotation 15, horizontal flip, shifts 0.1, brightness 0.8-1.2, fill nearest";
    case configuration::freeze30: return "the first 30% of the learnable layers frozen";
  }
  return "?";
}
inline std::string_view describe(protocol p) {
  switch (p) {
    case protocol::random: return "the study's frame-level random 80/20 split (leaks clips and subjects)";
    case protocol::loso: return "leave one subject out (subject-independent)";
    case protocol::subject_kfold: return "subject k-fold (subject-independent)";
  }
  return "?";
}

namespace detail {
template <class Value, std::size_t N>
Value parse_name(std::string_view what, std::string_view text, const std::array<Value, N>& values) {
  std::string known;
  for (const Value v : values) {
    if (name(v) == text) return v;
    known += (known.empty() ? "" : ", ") + std::string(name(v));
  }
  fail("unknown ", what, " '", text, "' (known: ", known, ")");
}
}  // namespace detail

inline setting parse_setting(std::string_view text) { return detail::parse_name("setting", text, all_settings); }
inline configuration parse_configuration(std::string_view text) {
  return detail::parse_name("configuration", text, all_configurations);
}
inline protocol parse_protocol(std::string_view text) {
  return detail::parse_name("protocol", text,
                            std::array{protocol::random, protocol::loso, protocol::subject_kfold});
}
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
