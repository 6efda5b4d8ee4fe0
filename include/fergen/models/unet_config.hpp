// fergen/models/unet_config.hpp: the UNet's hyper-parameters: what they may be (validate) and their key=value
// text, the form checkpoints store them in.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/key_value.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace models {

// The hyper-parameters of the UNet. The architecture is fixed by these values; image size is only checked
// (and places attention): the network runs on any height and width divisible by 2^(levels - 1).
struct unet_config {
  std::int64_t image_channels = 1;                  // in and out (1: gray frames)
  std::int64_t image_size = 48;                     // the training size; attention_resolutions refer to it
  std::int64_t base_channels = 64;                  // channels of level 0
  std::vector<std::int64_t> channel_mult{1, 2, 2};  // level l has base_channels * channel_mult[l] channels
  std::int64_t res_blocks = 2;                      // residual blocks per level (the decoder has one more)
  std::vector<std::int64_t> attention_resolutions{};  // feature-map sizes (pixels) with self-attention, e.g. {12}
  bool middle_attention = false;                    // self-attention between the two middle blocks (DDPM: on)
  std::int64_t heads = 1;
  std::int64_t groups = 8;      // group normalisation groups (DDPM: 32); divides every channel count
  double dropout = 0.0;         // in every residual block (DDPM CIFAR-10: 0.1)
  std::int64_t classes = 0;     // class-conditional when > 0: a label embedding added to the time embedding
  bool null_class = true;       // with classes: one more learnable row, label `classes`, the null token of
                                // classifier-free guidance (label dropout trains it)

  std::int64_t levels() const { return static_cast<std::int64_t>(channel_mult.size()); }
  std::int64_t embed_dim() const { return 4 * base_channels; }  // DDPM: 4x the base channels
  std::int64_t size_multiple() const { return std::int64_t{1} << (levels() - 1); }

  void validate() const {
    auto bad = [](const auto&... parts) { fail("unet: ", parts...); };
    if (image_channels < 1 || image_channels > 64) bad("image_channels = ", image_channels, " is outside [1, 64]");
    if (base_channels < 1 || base_channels > 4096) bad("base_channels = ", base_channels, " is outside [1, 4096]");
    if (channel_mult.empty() || channel_mult.size() > 8) bad("channel_mult has ", channel_mult.size(), " levels; give 1 to 8");
    for (auto m : channel_mult)
      if (m < 1 || m > 64) bad("channel multiplier ", m, " is outside [1, 64]");
    if (res_blocks < 1 || res_blocks > 16) bad("res_blocks = ", res_blocks, " is outside [1, 16]");
    if (heads < 1) bad("heads = ", heads, " must be at least 1");
    if (groups < 1) bad("groups = ", groups, " must be at least 1");
    for (auto m : channel_mult)
      if ((base_channels * m) % groups != 0 || (base_channels * m) % heads != 0)
        bad(base_channels * m, " channels (base_channels ", base_channels, " x multiplier ", m, ") do not divide into ",
            groups, " normalisation groups", heads > 1 ? str(" and ", heads, " heads") : std::string());
    if (!(dropout >= 0 && dropout < 1)) bad("dropout = ", dropout, " is outside [0, 1)");
    if (classes < 0 || classes > 100000) bad("classes = ", classes, " is outside [0, 100000]");
    if (image_size < 1 || image_size % size_multiple() != 0)
      bad("image size ", image_size, " is not a positive multiple of 2^(levels - 1) = ", size_multiple(), " (",
          levels(), " levels)");
    for (auto r : attention_resolutions) {
      bool found = false;
      for (std::int64_t l = 0; l < levels(); ++l) found = found || image_size >> l == r;
      if (!found) bad("attention resolution ", r, " is not the size of any level (", sizes_text(), ")");
    }
  }

  // The feature-map size of each level, "48, 24, 12".
  std::string sizes_text() const {
    std::string s;
    for (std::int64_t l = 0; l < levels(); ++l) s += str(l ? ", " : "", image_size >> l);
    return s;
  }

  bool attention_at_level(std::int64_t level) const {
    return std::find(attention_resolutions.begin(), attention_resolutions.end(), image_size >> level) !=
           attention_resolutions.end();
  }

  // The configuration as ordered key=value entries (core/key_value.hpp): checkpoints store it, and comparing
  // two lists names the differing keys when a checkpoint does not fit a network.
  key_value_list entries() const {
    return key_value_writer{}
        .add("image_channels", image_channels)
        .add("image_size", image_size)
        .add("base_channels", base_channels)
        .add("channel_mult", channel_mult)
        .add("res_blocks", res_blocks)
        .add("attention_resolutions", attention_resolutions)
        .add("middle_attention", middle_attention)
        .add("heads", heads)
        .add("groups", groups)
        .add("dropout", dropout)
        .add("classes", classes)
        .add("null_class", null_class)
        .entries();
  }

  // The inverse of entries(); `origin` names the source in messages. Unknown or missing keys are errors.
  static unet_config from_entries(const key_value_map& e, std::string_view origin) {
    const key_value_reader r(e, std::string(origin), "UNet configuration");
    unet_config c;
    c.image_channels = r.get<std::int64_t>("image_channels");
    c.image_size = r.get<std::int64_t>("image_size");
    c.base_channels = r.get<std::int64_t>("base_channels");
    c.channel_mult = r.list<std::int64_t>("channel_mult");
    c.res_blocks = r.get<std::int64_t>("res_blocks");
    c.attention_resolutions = r.list<std::int64_t>("attention_resolutions");
    c.middle_attention = r.get<bool>("middle_attention");
    c.heads = r.get<std::int64_t>("heads");
    c.groups = r.get<std::int64_t>("groups");
    c.dropout = r.get<double>("dropout");
    c.classes = r.get<std::int64_t>("classes");
    c.null_class = r.get<bool>("null_class");
    r.reject_unknown(c.entries());
    c.validate();
    return c;
  }

  // "48x48x1, base 64, mult 1,2,2, 2 res blocks, attention at 12, 7 classes + null".
  std::string describe() const {
    std::string s = str(image_size, "x", image_size, "x", image_channels, ", base ", base_channels, ", mult ");
    for (std::size_t i = 0; i < channel_mult.size(); ++i) s += str(i ? "," : "", channel_mult[i]);
    s += str(", ", res_blocks, " res block", res_blocks == 1 ? "" : "s", ", groups ", groups);
    if (attention_resolutions.empty() && !middle_attention) {
      s += ", no attention";
    } else {
      s += ", attention at";
      for (auto r : attention_resolutions) s += str(" ", r);
      if (middle_attention) s += " middle";
    }
    if (dropout > 0) s += str(", dropout ", dropout);
    if (classes > 0) s += str(", ", classes, " classes", null_class ? " + null" : "");
    return s;
  }

  friend bool operator==(const unet_config&, const unet_config&) = default;
};

}  // namespace models
FERGEN_END_NAMESPACE
