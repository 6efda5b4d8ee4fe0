// Fuzzes the image decoder (stb_image behind fergen's header checks): any input must decode or throw
// fergen::error in every colour mode; never crash, leak, read out of bounds or allocate past the limits.
// Seeds in seeds/fuzz_image_decode/ are tiny PNG (gray, 16-bit, RGB, RGBA, palette), JPEG (gray, 4:2:0,
// progressive), BMP (24-bit, 8-bit palette) and GIF files.
#include <fergen/data/image_io.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  using fergen::data::color_mode;
  for (const color_mode mode : {color_mode::keep, color_mode::gray, color_mode::rgb}) {
    try {
      const fergen::data::image img = fergen::data::decode_image(bytes, "fuzz", mode);
      // A decoded image must be what it says it is, within the documented limits.
      const bool consistent = img.channels == (mode == color_mode::gray ? 1 : mode == color_mode::rgb ? 3 : img.channels) &&
                              (img.channels == 1 || img.channels == 3) && img.height > 0 && img.width > 0 &&
                              img.height * img.width <= fergen::data::max_image_pixels &&
                              img.pixels.size() == static_cast<std::size_t>(img.size());
      if (!consistent) std::abort();
      for (const float v : img.pixels)
        if (!(v >= 0.0f && v <= 255.0f)) std::abort();
    } catch (const fergen::error&) {
    }
  }
  return 0;
}
