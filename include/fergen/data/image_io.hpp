// fergen/data/image_io.hpp: reading image files (JPEG, PNG, BMP and whatever else stb_image decodes) into
// images, and writing images as PNG or JPEG.
//
// stb's implementations come from Debian's libstb.so (cmake/fergen-dependencies.cmake), so this header
// includes only stb's declarations and defines no STB_*_IMPLEMENTATION: a program can include it from
// any number of translation units, next to its own copy of stb or not.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/npy.hpp>  // fergen::detail::read_file and atomic_file, shared by every file format
#include <fergen/data/color.hpp>
#include <fergen/data/image.hpp>

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace data {

// keep: what the file holds as stb_image reports it: 1 channel for gray (and gray + alpha) files, 3 for
//       colour (RGB, RGBA, palette) files. stb reports BMP and GIF files as colour even when their palette is
//       gray, so they come back with 3 equal channels; ask for gray when the channel count matters.
// gray: 1 channel; colour files are reduced with BT.601 luma (to_grayscale) in float, not stb's integer luma.
// rgb:  3 channels; gray files are replicated.
// Alpha is dropped, not composited, as PIL's convert('RGB') and convert('L') do.
enum class color_mode { keep, gray, rgb };

// The most pixels a decoded or written image may have: 2^26 (8192 x 8192). The decoder checks the size in
// the file's header against it before stb allocates anything, so a forged header of a few bytes cannot
// make it reserve gigabytes; 2^26 RGB pixels are already 768 MiB as floats.
inline constexpr std::int64_t max_image_pixels = std::int64_t{1} << 26;

namespace detail {

inline std::string stb_failure() {
  const char* reason = stbi_failure_reason();
  return reason && *reason ? std::string(reason) : std::string("no reason given");
}

struct stb_image_deleter {
  void operator()(stbi_uc* p) const noexcept { stbi_image_free(p); }
};

// Interleaved 8-bit samples (stb's layout) -> planar float image, or 1 channel of BT.601 luma straight from
// the bytes when a colour file is decoded as gray: that skips a float RGB image three times the size, and
// gives the same floats as to_grayscale (same double formula, one rounding).
inline image planar_from_interleaved(const stbi_uc* bytes, std::int64_t height, std::int64_t width,
                                     std::int64_t channels, bool luma) {
  const std::int64_t n = height * width;
  image out(luma ? 1 : channels, height, width);
  if (luma) {
    float* y = out.channel(0);
    for (std::int64_t i = 0; i < n; ++i) {
      const stbi_uc* p = bytes + i * 3;
      y[i] = static_cast<float>(luma_r * p[0] + luma_g * p[1] + luma_b * p[2]);
    }
    return out;
  }
  for (std::int64_t c = 0; c < channels; ++c) {
    float* dst = out.channel(c);
    for (std::int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(bytes[i * channels + c]);
  }
  return out;
}

// Planar float -> interleaved 8-bit for stb_image_write: rounded to nearest (halves up) and clamped to
// [0, 255]. NaN has no nearest byte; writing it as 0 would hide a broken pipeline, so it is an error.
inline std::vector<unsigned char> interleaved_bytes(const image& img, std::string_view what) {
  require_consistent(img, what);
  require(img.channels == 1 || img.channels == 3, what, ": image ", img.channels, " x ", img.height, " x ", img.width,
          " has ", img.channels, " channels; only 1 (gray) or 3 (RGB) can be written");
  require(img.plane() <= max_image_pixels, what, ": image ", img.height, " x ", img.width, " has more than 2^26 (",
          max_image_pixels, ") pixels, the most fergen reads back");
  const std::int64_t n = img.plane(), channels = img.channels;
  std::vector<unsigned char> out(static_cast<std::size_t>(n * channels));
  for (std::int64_t c = 0; c < channels; ++c) {
    const float* src = img.channel(c);
    for (std::int64_t i = 0; i < n; ++i) {
      const float v = src[i];
      if (std::isnan(v))
        fail(what, ": pixel (channel ", c, ", row ", i / img.width, ", column ", i % img.width, ") is NaN");
      const double r = v <= 0.0f ? 0.0 : v >= 255.0f ? 255.0 : std::round(static_cast<double>(v));
      out[static_cast<std::size_t>(i * channels + c)] = static_cast<unsigned char>(r);
    }
  }
  return out;
}

// stb_image_write's output callback. It is called from C, so nothing may propagate out of it; a failed
// allocation is remembered and reported after stb returns.
struct byte_sink {
  std::vector<std::byte> bytes;
  bool out_of_memory = false;

  static void append(void* context, void* data, int size) {
    auto* sink = static_cast<byte_sink*>(context);
    if (sink->out_of_memory || size <= 0) return;
    try {
      const auto* p = static_cast<const std::byte*>(data);
      sink->bytes.insert(sink->bytes.end(), p, p + size);
    } catch (...) {
      sink->out_of_memory = true;
    }
  }
};

inline std::vector<std::byte> encode(const image& img, std::string_view what, bool jpeg, int quality) {
  if (jpeg) {
    // stb would clamp a quality out of range and silently write a corrupt header for a dimension past the
    // 16 bits JPEG stores it in; both are the caller's mistake and deserve a message.
    require(quality >= 1 && quality <= 100, what, ": JPEG quality ", quality, " is outside 1..100");
    require(img.height <= 65535 && img.width <= 65535, what, ": image ", img.height, " x ", img.width,
            " is larger than JPEG's 65535 x 65535");
  }
  const std::vector<unsigned char> samples = interleaved_bytes(img, what);
  // Both fit int: the pixel limit bounds each dimension by 2^26.
  const int w = static_cast<int>(img.width), h = static_cast<int>(img.height), c = static_cast<int>(img.channels);
  byte_sink sink;
  const int ok = jpeg ? stbi_write_jpg_to_func(&byte_sink::append, &sink, w, h, c, samples.data(), quality)
                      : stbi_write_png_to_func(&byte_sink::append, &sink, w, h, c, samples.data(), w * c);
  require(!sink.out_of_memory, what, ": out of memory while encoding a ", img.height, " x ", img.width, " image");
  require(ok != 0 && !sink.bytes.empty(), what, ": stb_image_write failed to encode a ", img.channels, " x ",
          img.height, " x ", img.width, " image");
  return std::move(sink.bytes);
}

// stbi_info_from_memory tries every format and, when all refuse, reports only "unknown image type", even
// for a PNG whose header it rejected. The file's signature says what was meant, which is the more useful
// message for a corrupt file; a PNG's first chunk also gives the size it claimed.
inline std::string container_of(std::span<const std::byte> bytes) {
  const auto has = [&](std::size_t at, std::string_view magic) {
    if (bytes.size() < at + magic.size()) return false;
    for (std::size_t i = 0; i < magic.size(); ++i)
      if (bytes[at + i] != static_cast<std::byte>(magic[i])) return false;
    return true;
  };
  const auto starts = [&](std::string_view magic) { return has(0, magic); };
  if (starts("\x89PNG\r\n\x1a\n")) {
    if (bytes.size() < 24 || !has(12, "IHDR")) return "PNG file without a complete IHDR chunk";
    const auto be32 = [&](std::size_t at) {
      std::uint32_t v = 0;
      for (std::size_t i = 0; i < 4; ++i) v = v << 8 | std::to_integer<std::uint32_t>(bytes[at + i]);
      return v;
    };
    return str("PNG file whose IHDR says ", be32(16), " x ", be32(20), " pixels");
  }
  if (starts("\xff\xd8\xff")) return "JPEG file";
  if (starts("BM")) return "BMP file";
  if (starts("GIF87a") || starts("GIF89a")) return "GIF file";
  return {};
}

// stb_image 2.27 (Debian 12's libstb) builds a JPEG Huffman table without checking that the 16 code counts
// of a DHT segment add up to at most 256, and then writes that many entries into its 257-entry arrays: a
// heap overflow from a crafted file, already in the header scan of stbi_info (found by fuzzing stb built
// with sanitizers; stb 2.28 adds the check). So before stb sees a JPEG, every DHT it could read is checked.
// stb finds a marker wherever the bytes FF C4 meet (after fill FFs, after entropy-coded data, when it
// resynchronises after a bad segment), so every such pair is read as a DHT, the way stb reads one (zeros
// past the end); that can only over-report: a table inside an APP or comment payload that happens to look
// oversized refuses a file stb would have read. A real file holds a few dozen tables; a file made of
// nothing but table headers would make this walk quadratic, so past 65536 of them it is refused.
inline void require_bounded_jpeg_huffman_tables(std::span<const std::byte> bytes, std::string_view origin) {
  const auto at = [&](std::size_t i) { return i < bytes.size() ? std::to_integer<std::uint32_t>(bytes[i]) : 0u; };
  std::int64_t tables_read = 0;
  for (std::size_t p = 0; p + 1 < bytes.size(); ++p) {
    if (at(p) != 0xFF || at(p + 1) != 0xC4) continue;
    std::size_t i = p + 2;
    std::int64_t left = std::int64_t{at(i) << 8 | at(i + 1)} - 2;  // stb's segment length L
    i += 2;
    while (left > 0 && i < bytes.size()) {  // past the end stb reads zeros: empty tables, harmless
      const std::uint32_t q = at(i++);
      if ((q >> 4) > 1 || (q & 15) > 3) break;  // stb refuses the segment before building anything
      if (++tables_read > 65536)
        fail(origin, ": corrupt JPEG: more than 65536 Huffman table headers (DHT at byte ", p, " and before)");
      std::uint32_t codes = 0;
      for (int k = 0; k < 16; ++k) codes += at(i++);
      if (codes > 256)
        fail(origin, ": corrupt JPEG: the Huffman table at byte ", p, " declares ", codes,
             " codes, more than the 256 a table can hold");
      i += codes;
      left -= 17 + std::int64_t{codes};
    }
  }
}

// ITU-T T.81 Annex K.3: the example Huffman tables every baseline encoder without optimisation uses, and
// the ones libjpeg falls back on when a Motion-JPEG frame omits its tables. Code counts per length 1..16.
inline constexpr unsigned char k3_dc_luminance_counts[16] = {0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
inline constexpr unsigned char k3_dc_chrominance_counts[16] = {0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0};
inline constexpr unsigned char k3_dc_values[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
inline constexpr unsigned char k3_ac_luminance_counts[16] = {0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d};
inline constexpr unsigned char k3_ac_luminance_values[162] = {
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71,
    0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72,
    0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37,
    0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59,
    0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83,
    0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3,
    0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
    0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
};
inline constexpr unsigned char k3_ac_chrominance_counts[16] = {0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77};
inline constexpr unsigned char k3_ac_chrominance_values[162] = {
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13, 0x22,
    0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1,
    0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36,
    0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58,
    0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
    0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a,
    0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba,
    0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
    0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
};

// Where stb's JPEG parser finds the end of the SOI marker (it skips fill bytes FF before D8), or 0 when the
// bytes are not a JPEG to stb.
inline std::size_t jpeg_soi_end(std::span<const std::byte> bytes) {
  std::size_t i = 0;
  while (i < bytes.size() && bytes[i] == std::byte{0xFF}) ++i;
  return i > 0 && i < bytes.size() && bytes[i] == std::byte{0xD8} ? i + 1 : 0;
}

// stb 2.27 mallocs its JPEG decoder state without clearing it, so a scan that uses a Huffman table the file
// never defined decodes with whatever the heap held: out-of-bounds reads through the garbage table, or an
// abort on stb's internal assertion (Debian's libstb keeps assertions), depending on what ran before (found
// by fuzzing stb built with sanitizers). Which tables stb has read when it reaches a scan depends on how far
// it got through the previous scan's entropy-coded data, so no cheap scan of the bytes can predict it.
// Instead every table gets a definition before the file's own: a DHT with the Annex K tables (luminance
// for tables 0 and 2, chrominance for 1 and 3) and a DQT of ones are put right after SOI. A valid file
// redefines every table it uses, so it decodes exactly as before; a file that relies on tables it never
// defined decodes with the standard Huffman tables, as libjpeg does for Motion-JPEG frames, and with
// unscaled coefficients, deterministically, instead of with heap contents.
inline std::vector<std::byte> jpeg_with_default_tables(std::span<const std::byte> bytes, std::size_t soi_end) {
  std::vector<std::byte> out;
  out.reserve(bytes.size() + 1100);
  const auto put = [&](std::uint32_t v) { out.push_back(static_cast<std::byte>(v)); };
  const auto put_all = [&](std::span<const unsigned char> values) {
    for (const unsigned char v : values) put(v);
  };
  out.insert(out.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(soi_end));
  put(0xFF), put(0xDB), put(0x01), put(0x06);  // DQT, length 2 + 4 x 65
  for (std::uint32_t t = 0; t < 4; ++t) {
    put(t);  // 8-bit precision, table t
    for (int i = 0; i < 64; ++i) put(1);
  }
  put(0xFF), put(0xC4), put(0x03), put(0x42);  // DHT, length 2 + 4 x (17 + 12) + 4 x (17 + 162) = 834
  for (std::uint32_t t = 0; t < 4; ++t) {
    put(t);  // class 0 (DC), table t
    put_all(t % 2 == 0 ? k3_dc_luminance_counts : k3_dc_chrominance_counts);
    put_all(k3_dc_values);
    put(0x10 | t);  // class 1 (AC), table t
    put_all(t % 2 == 0 ? k3_ac_luminance_counts : k3_ac_chrominance_counts);
    put_all(t % 2 == 0 ? k3_ac_luminance_values : k3_ac_chrominance_values);
  }
  out.insert(out.end(), bytes.begin() + static_cast<std::ptrdiff_t>(soi_end), bytes.end());
  return out;
}

// Little-endian fields of a header already known to be long enough.
inline std::uint32_t load_le(std::span<const std::byte> b, std::size_t at, std::size_t size) {
  std::uint32_t v = 0;
  for (std::size_t i = size; i-- > 0;) v = v << 8 | std::to_integer<std::uint32_t>(b[at + i]);
  return v;
}

// stb's BMP decoder reads missing bytes as zeros, so a truncated BMP would come back as a complete image
// with black rows: garbage that looks valid. This checks that the rows the header promises are present
// (the last row's padding may be missing; stb never looks at it). stb rejects RLE and embedded JPEG/PNG
// BMPs itself, so every BMP that reaches its decoder stores its rows uncompressed from the data offset on.
inline void require_complete_bmp(std::span<const std::byte> bytes, std::int64_t width, std::int64_t height,
                                 std::string_view origin) {
  const std::size_t info_start = 14;  // BITMAPFILEHEADER
  if (bytes.size() < info_start + 4) fail(origin, ": truncated BMP header (", bytes.size(), " bytes)");
  const std::uint32_t info_size = load_le(bytes, 14, 4);
  if (bytes.size() < info_start + info_size || info_size < 12)
    fail(origin, ": truncated BMP header (", bytes.size(), " bytes; the header alone needs ", info_start + info_size, ")");
  const std::uint32_t offset = load_le(bytes, 10, 4);
  const std::uint32_t bits = load_le(bytes, info_size == 12 ? 24 : 28, 2);
  if (bits != 1 && bits != 4 && bits != 8 && bits != 16 && bits != 24 && bits != 32) return;  // stb refuses those
  const std::int64_t row = (width * bits + 7) / 8;
  const std::int64_t padded_row = (row + 3) / 4 * 4;
  const std::int64_t needed = std::int64_t{offset} + padded_row * (height - 1) + row;
  if (static_cast<std::int64_t>(bytes.size()) < needed)
    fail(origin, ": truncated BMP: a ", width, " x ", height, " image of ", bits, " bits per pixel from byte ", offset,
         " needs ", needed, " bytes, the file has ", bytes.size());
}

// TGA has no signature: stb tries it last, on anything the other formats refused, and every other format
// stb reads has a byte 1 that is not 0 or 1 (a TGA's colour-map flag). stb's TGA decoder ignores running
// out of data: uncompressed rows are left as uninitialised heap memory and RLE packets read as zeros, so a
// 100-byte file claiming 3000 x 5000 pixels came back as a 15-megapixel image of garbage (found by
// fuzzing). The bytes must at least hold the pixels the header promises: all of them when uncompressed,
// and for RLE one packet (a count byte and one pixel) per 128 pixels, the densest RLE can be.
inline bool stb_reads_as_tga(std::span<const std::byte> bytes) {
  return bytes.size() >= 2 && (bytes[1] == std::byte{0} || bytes[1] == std::byte{1});
}

inline void require_complete_tga(std::span<const std::byte> bytes, std::int64_t width, std::int64_t height,
                                 std::string_view origin) {
  const auto at = [&](std::size_t i) { return i < bytes.size() ? std::to_integer<std::int64_t>(bytes[i]) : 0; };
  const std::int64_t type = at(2), bits = at(16);
  const std::int64_t pixel_bytes = std::max<std::int64_t>(1, (bits + 7) / 8);  // 15-bit pixels take 2 bytes
  const std::int64_t pixels = width * height;
  const bool rle = type >= 8;
  const std::int64_t data = rle ? (pixels + 127) / 128 * (1 + pixel_bytes) : pixels * pixel_bytes;
  const std::int64_t needed = 18 + at(0) + data;  // header, image id, pixels (a colour map would come on top)
  if (static_cast<std::int64_t>(bytes.size()) < needed)
    fail(origin, ": truncated or corrupt TGA: a ", width, " x ", height, rle ? " run-length encoded" : "",
         " image of ", bits, " bits per pixel needs at least ", needed, " bytes, the file has ", bytes.size());
}

}  // namespace detail

// Decodes an image file held in memory into 8-bit samples on the [0, 255] scale. origin names the bytes in
// messages (a path, or "archive.zip: member x.png"). The header is read first (stbi_info_from_memory) and an
// image with a zero dimension or more than max_image_pixels pixels is refused before anything is
// allocated. Whatever stb cannot decode is a fergen::error naming origin and stb's reason.
//
// Truncated files are errors for the formats fergen is meant for: stb needs PNG's IEND chunk (only its
// CRC may be missing, and the pixels are complete by then) and, in stb 2.27, JPEG's end-of-image marker;
// BMP, whose decoder would read missing rows as zeros, is checked here against the size its header
// promises; TGA must hold at least as many bytes as its pixels need. A JPEG whose scan data is damaged but
// that still ends in a marker decodes with the damage in its pixels, as libjpeg does with a warning:
// nothing in the bytes tells that apart from a real image. The other formats stb reads (GIF, PSD, HDR,
// PIC, PNM) get no check beyond stb's own.
//
// Rows come top row first, unless the program called stbi_set_flip_vertically_on_load: that is stb's own
// process-wide setting, and fergen leaves it to the program rather than overriding it behind its back.
inline image decode_image(std::span<const std::byte> bytes, std::string_view origin, color_mode mode = color_mode::keep) {
  require(!bytes.empty(), origin, ": empty file (0 bytes), not an image");
  // Two guards against stb 2.27's JPEG decoder, which crafted files can make overflow or read garbage.
  std::vector<std::byte> patched;
  if (const std::size_t soi_end = detail::jpeg_soi_end(bytes); soi_end != 0) {
    detail::require_bounded_jpeg_huffman_tables(bytes, origin);
    patched = detail::jpeg_with_default_tables(bytes, soi_end);
  }
  const std::span<const std::byte> input = patched.empty() ? bytes : std::span<const std::byte>(patched);
  require(input.size() <= static_cast<std::size_t>(INT_MAX), origin, ": ", bytes.size(),
          " bytes is larger than stb_image can read (", INT_MAX, " bytes)");
  const auto* data = reinterpret_cast<const stbi_uc*>(input.data());
  const int length = static_cast<int>(input.size());

  int width = 0, height = 0, components = 0;
  if (!stbi_info_from_memory(data, length, &width, &height, &components)) {
    const std::string container = detail::container_of(bytes);
    if (!container.empty())
      fail(origin, ": not a readable image: a ", container, " that stb_image refuses as corrupt or unsupported (",
           detail::stb_failure(), ")");
    fail(origin, ": not a readable image (stb_image: ", detail::stb_failure(), ")");
  }
  // stb 2.27's BMP header scan passes on the signed height of a top-down BMP (rows stored first to last);
  // its decoder takes the absolute value. INT_MIN has none: it stays negative and is refused below.
  const bool bmp = bytes.size() >= 2 && bytes[0] == std::byte{'B'} && bytes[1] == std::byte{'M'};
  if (bmp && height < 0 && height != INT_MIN) height = -height;
  if (width <= 0 || height <= 0)
    fail(origin, ": image header says ", width, " x ", height, " pixels; an image needs at least one");
  if (std::int64_t{width} * height > max_image_pixels)
    fail(origin, ": image header says ", width, " x ", height, " = ", std::int64_t{width} * height,
         " pixels, more than the 2^26 (", max_image_pixels, ") fergen decodes (a forged or corrupt header?)");

  if (bmp) detail::require_complete_bmp(bytes, width, height, origin);
  if (detail::stb_reads_as_tga(bytes)) detail::require_complete_tga(bytes, width, height, origin);

  const bool colour_file = components >= 3;  // 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA
  const int wanted = mode == color_mode::rgb || colour_file ? 3 : 1;
  int got_width = 0, got_height = 0, file_components = 0;
  const std::unique_ptr<stbi_uc, detail::stb_image_deleter> pixels(
      stbi_load_from_memory(data, length, &got_width, &got_height, &file_components, wanted));
  if (!pixels)
    fail(origin, ": cannot decode the ", width, " x ", height, " image (stb_image: ", detail::stb_failure(), ")");
  // The buffer holds got_width x got_height pixels; a decoder disagreeing with its own header scan would
  // make the sizes above a lie, so that is refused rather than trusted.
  if (got_width != width || got_height != height)
    fail(origin, ": stb_image's header scan said ", width, " x ", height, " but it decoded ", got_width, " x ",
         got_height, " pixels");
  return detail::planar_from_interleaved(pixels.get(), height, width, wanted, mode == color_mode::gray && wanted == 3);
}

// Reads the whole file and decodes it; a missing or unreadable file is an error naming the path and the
// system's reason.
inline image load_image(const std::filesystem::path& file, color_mode mode = color_mode::keep) {
  return decode_image(fergen::detail::read_file(file), file.string(), mode);
}

// A PNG file in memory: 8 bits per sample, 1 (gray) or 3 (RGB) channels. Values are rounded to the nearest
// integer (halves up) and clamped to [0, 255]; a NaN value is an error. Lossless for integer values.
inline std::vector<std::byte> encode_png(const image& img) { return detail::encode(img, "encode_png", false, 0); }

// A JPEG file in memory (stb's baseline encoder: 4:2:0 chroma up to quality 90, 4:4:4 above). Quality is
// 1..100 as in PIL and libjpeg. stb always writes three components (YCbCr), so a gray image comes back
// from load_image as 3 (nearly) equal channels: read it with color_mode::gray.
inline std::vector<std::byte> encode_jpeg(const image& img, int quality = 95) {
  return detail::encode(img, "encode_jpeg", true, quality);
}

// The file is written atomically: it is either left as it was or holds the complete new image (a temporary
// file in the same directory is renamed over it). Errors name the path.
inline void write_png(const std::filesystem::path& file, const image& img) {
  fergen::detail::write_atomically(file, detail::encode(img, "write_png: " + file.string(), false, 0));
}

inline void write_jpeg(const std::filesystem::path& file, const image& img, int quality = 95) {
  fergen::detail::write_atomically(file, detail::encode(img, "write_jpeg: " + file.string(), true, quality));
}

}  // namespace data
FERGEN_END_NAMESPACE
