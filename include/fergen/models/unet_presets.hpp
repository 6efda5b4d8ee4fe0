// fergen/models/unet_presets.hpp: the UNet configurations the project names (demo, study, benchmark).
#pragma once

#include <fergen/models/unet_config.hpp>

#include <cstdint>

FERGEN_BEGIN_NAMESPACE
namespace models {

// The named configurations the project uses; every field not given keeps unet_config's default. classes is
// the dataset's class count.
namespace unet_presets {
// `fergen demo` on a 2-core CPU: 32x32 frames, three levels (32, 16, 8), 16 base channels, one residual block
// per level, no attention: 0.26M parameters and 0.12 GFLOP per image forward (README "Diffusion on a small
// CPU" gives the measured speed and the samples).
inline unet_config demo(std::int64_t classes) {
  return {.image_size = 32, .base_channels = 16, .channel_mult = {1, 2, 2}, .res_blocks = 1, .groups = 8,
          .classes = classes};
}
// The study's 48x48 gray frames: three levels (48, 24, 12), 64 base channels, two residual blocks per level,
// DDPM's attention on the smallest map and in the middle.
inline unet_config study(std::int64_t classes) {
  return {.image_size = 48, .base_channels = 64, .channel_mult = {1, 2, 2}, .res_blocks = 2,
          .attention_resolutions = {12}, .middle_attention = true, .groups = 8, .dropout = 0.1, .classes = classes};
}
// The benchmark's network (benchmarks/bench_unet.cpp): channels 64, 128, 256, two residual blocks per level,
// GroupNorm 8, no attention.
inline unet_config benchmark(std::int64_t classes = 0) {
  return {.image_size = 48, .base_channels = 64, .channel_mult = {1, 2, 4}, .res_blocks = 2, .groups = 8,
          .classes = classes};
}
}  // namespace unet_presets

}  // namespace models
FERGEN_END_NAMESPACE
