// fergen/models/unet_presets.hpp: the UNet configurations the project names (demo, study, benchmark).
#pragma once

#include <fergen/models/unet_config.hpp>

#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace models {

// The named configurations the project uses. classes is the dataset's class count.
namespace unet_presets {
// `fergen demo` on a 2-core CPU: 32x32 frames, three levels (32, 16, 8), 16 base channels, one residual block
// per level, no attention: 0.26M parameters and 0.12 GFLOP per image forward (README "Diffusion on a small
// CPU" gives the measured speed and the samples).
inline unet_config demo(std::int64_t classes) {
  unet_config c;
  c.image_size = 32;
  c.base_channels = 16;
  c.channel_mult = {1, 2, 2};
  c.res_blocks = 1;
  c.groups = 8;
  c.classes = classes;
  return c;
}
// The study's 48x48 gray frames: three levels (48, 24, 12), 64 base channels, two residual blocks per level,
// DDPM's attention on the smallest map and in the middle.
inline unet_config study(std::int64_t classes) {
  unet_config c;
  c.image_size = 48;
  c.base_channels = 64;
  c.channel_mult = {1, 2, 2};
  c.res_blocks = 2;
  c.attention_resolutions = {12};
  c.middle_attention = true;
  c.groups = 8;
  c.dropout = 0.1;
  c.classes = classes;
  return c;
}
// The benchmark's network (benchmarks/bench_unet.cpp): channels 64, 128, 256, two residual blocks per level,
// GroupNorm 8, no attention.
inline unet_config benchmark(std::int64_t classes = 0) {
  unet_config c;
  c.image_size = 48;
  c.base_channels = 64;
  c.channel_mult = {1, 2, 4};
  c.res_blocks = 2;
  c.groups = 8;
  c.classes = classes;
  return c;
}
}  // namespace unet_presets

}  // namespace models
FERGEN_END_NAMESPACE
