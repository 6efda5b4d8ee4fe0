// Tests of data/image_io.hpp: round trips, files written by PIL 9.4 (tests/reference/resize_reference.py)
// decoding to the values PIL itself reads, colour modes, and hostile input: missing, empty, truncated,
// non-image and forged files.
#include <fergen/core/rng.hpp>
#include <fergen/data/image_io.hpp>

#include "support/reference.hpp"

#include <doctest/doctest.h>
#include <zlib.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

using namespace fergen;
using data::color_mode;
using data::image;

namespace {

namespace fs = std::filesystem;

// A directory of its own per test process, removed afterwards.
struct scratch_dir {
  fs::path path;
  scratch_dir() {
    path = fs::temp_directory_path() / ("fergen-test-image-io-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~scratch_dir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
};

// doctest::Contains takes a doctest::String, which std::string does not convert to.
doctest::Contains contains(const std::string& text) { return doctest::Contains(text.c_str()); }

fs::path pil_file(const std::string& name) { return testing::reference_dir("resize_reference") / "files" / name; }

std::vector<std::byte> bytes_of(const fs::path& file) { return fergen::detail::read_file(file); }

void write_bytes(const fs::path& file, std::span<const std::byte> bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::byte> text_bytes(std::string_view s) {
  std::vector<std::byte> b;
  for (const char c : s) b.push_back(static_cast<std::byte>(c));
  return b;
}

// Integer-valued test pictures: smooth gradients plus a little texture, like the faces the library reads
// (JPEG errors on pure noise say little about a decoder).
image picture(std::int64_t channels, std::int64_t h, std::int64_t w, std::uint64_t seed) {
  image img(channels, h, w);
  const random_stream s{seed, 1};
  for (std::int64_t c = 0; c < channels; ++c)
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x) {
        const double v = 40.0 + 150.0 * static_cast<double>(x + c * 7) / static_cast<double>(w + 14) +
                         50.0 * static_cast<double>(y) / static_cast<double>(h) +
                         6.0 * s.uniform(static_cast<std::uint64_t>((c * h + y) * w + x));
        img.at(c, y, x) = static_cast<float>(std::round(v));
      }
  return img;
}

image random_bytes_image(std::int64_t channels, std::int64_t h, std::int64_t w, std::uint64_t seed) {
  image img(channels, h, w);
  const random_stream s{seed, 2};
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<float>(s.bits(i) & 0xFF);
  return img;
}

struct difference {
  double max = 0, mean = 0;
};

difference compare(const image& a, const image& b) {
  REQUIRE(a.channels == b.channels);
  REQUIRE(a.height == b.height);
  REQUIRE(a.width == b.width);
  difference d;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) {
    const double e = std::abs(static_cast<double>(a.pixels[i]) - b.pixels[i]);
    d.max = std::max(d.max, e);
    d.mean += e;
  }
  d.mean /= static_cast<double>(a.pixels.size());
  return d;
}

// PIL's (H, W) or (H, W, 3) uint8 array as a planar image with the given channel count (a gray array is
// replicated when the decoder returns 3 channels).
image pil_image(const npy_array& a, std::int64_t channels) {
  REQUIRE((a.shape.size() == 2 || a.shape.size() == 3));
  const std::int64_t h = a.shape[0], w = a.shape[1], pc = a.shape.size() == 3 ? a.shape[2] : 1;
  REQUIRE((pc == channels || pc == 1));
  const std::vector<float> v = a.values<float>();
  image img(channels, h, w);
  for (std::int64_t c = 0; c < channels; ++c)
    for (std::int64_t i = 0; i < h * w; ++i) img.channel(c)[i] = v[static_cast<std::size_t>(i * pc + (pc == 1 ? 0 : c))];
  return img;
}

// A PNG chunk with its CRC (stb ignores CRCs; PIL and browsers do not, so the forged files stay realistic).
void png_chunk(std::vector<std::byte>& out, const char* type, const std::vector<unsigned char>& payload) {
  const auto put32 = [&](std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::byte>((v >> s) & 0xFF));
  };
  put32(static_cast<std::uint32_t>(payload.size()));
  std::vector<unsigned char> typed(type, type + 4);
  typed.insert(typed.end(), payload.begin(), payload.end());
  for (const unsigned char c : typed) out.push_back(static_cast<std::byte>(c));
  put32(static_cast<std::uint32_t>(crc32(0, typed.data(), static_cast<uInt>(typed.size()))));
}

// A gray 8-bit PNG whose IHDR claims width x height, followed by a tiny IDAT and IEND: what a forged or
// corrupt header looks like.
std::vector<std::byte> forged_png(std::uint32_t width, std::uint32_t height) {
  std::vector<std::byte> out;
  const unsigned char signature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  for (const unsigned char c : signature) out.push_back(static_cast<std::byte>(c));
  std::vector<unsigned char> ihdr;
  for (const std::uint32_t v : {width, height})
    for (int s = 24; s >= 0; s -= 8) ihdr.push_back(static_cast<unsigned char>((v >> s) & 0xFF));
  ihdr.insert(ihdr.end(), {8, 0, 0, 0, 0});  // 8 bits, gray, deflate, filter 0, no interlace
  png_chunk(out, "IHDR", ihdr);
  png_chunk(out, "IDAT", {0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01});  // zlib of one zero byte
  png_chunk(out, "IEND", {});
  return out;
}

// A baseline JPEG start (SOI, SOF0 for one 8-bit component) claiming width x height, without tables or data.
std::vector<std::byte> forged_jpeg(std::uint16_t width, std::uint16_t height) {
  const unsigned char b[] = {0xFF, 0xD8, 0xFF, 0xC0, 0x00, 11, 8, static_cast<unsigned char>(height >> 8),
                             static_cast<unsigned char>(height & 0xFF), static_cast<unsigned char>(width >> 8),
                             static_cast<unsigned char>(width & 0xFF), 1, 1, 0x11, 0};
  std::vector<std::byte> out;
  for (const unsigned char c : b) out.push_back(static_cast<std::byte>(c));
  return out;
}

// A 24-bit BMP with a BITMAPINFOHEADER; a negative height stores the rows top-down. Pixels are given
// top row first, as (R, G, B); data_bytes overrides how many pixel bytes follow the header.
std::vector<std::byte> bmp24(std::int32_t width, std::int32_t height, const std::vector<unsigned char>& rgb_top_down,
                             std::int64_t data_bytes = -1) {
  const std::int64_t rows = height < 0 ? -std::int64_t{height} : height;
  const std::int64_t stride = (width * 3 + 3) / 4 * 4;
  std::vector<std::byte> out;
  const auto put = [&](std::uint32_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xFF));
  };
  out.push_back(std::byte{'B'});
  out.push_back(std::byte{'M'});
  put(static_cast<std::uint32_t>(54 + stride * rows), 4);
  put(0, 4);
  put(54, 4);  // pixel data offset
  put(40, 4);
  put(static_cast<std::uint32_t>(width), 4);
  put(static_cast<std::uint32_t>(height), 4);
  put(1, 2);
  put(24, 2);
  for (int i = 0; i < 6; ++i) put(0, 4);  // BI_RGB, sizes, resolutions, palette counts
  // Only a real image's rows are built: the forged ones claim sizes nobody should allocate.
  std::vector<std::byte> data(static_cast<std::size_t>(data_bytes >= 0 ? data_bytes : stride * rows), std::byte{0});
  for (std::int64_t r = 0; r < rows && data_bytes < 0; ++r) {
    const std::int64_t stored = height < 0 ? r : rows - 1 - r;  // bottom-up: the last row comes first
    for (std::int64_t x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)  // stored as B, G, R
        data[static_cast<std::size_t>(stored * stride + x * 3 + c)] =
            static_cast<std::byte>(rgb_top_down[static_cast<std::size_t>((r * width + x) * 3 + (2 - c))]);
  }
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// The inputs libFuzzer found crashing or hanging stb, kept next to the fuzzer's seeds.
fs::path regression_input(const std::string& name) {
  return fs::path(FERGEN_TESTS_SOURCE_DIR) / "fuzz" / "seeds" / "fuzz_image_decode" / name;
}

// A baseline JPEG without its DHT segments, as Motion-JPEG frames are stored: baseline encoders write every
// table before the first SOS, so removing the header's DHT segments removes them all.
std::vector<std::byte> without_huffman_tables(const std::vector<std::byte>& jpeg) {
  std::vector<std::byte> out(jpeg.begin(), jpeg.begin() + 2);  // SOI
  std::size_t i = 2;
  int removed = 0;
  while (i + 4 <= jpeg.size() && jpeg[i + 1] != std::byte{0xDA}) {  // up to SOS
    REQUIRE(jpeg[i] == std::byte{0xFF});
    const std::size_t length = std::to_integer<std::size_t>(jpeg[i + 2]) << 8 | std::to_integer<std::size_t>(jpeg[i + 3]);
    const auto segment = jpeg.begin() + static_cast<std::ptrdiff_t>(i);
    if (jpeg[i + 1] == std::byte{0xC4})
      ++removed;
    else
      out.insert(out.end(), segment, segment + static_cast<std::ptrdiff_t>(2 + length));
    i += 2 + length;
  }
  REQUIRE(removed > 0);
  out.insert(out.end(), jpeg.begin() + static_cast<std::ptrdiff_t>(i), jpeg.end());
  return out;
}

// What decoding gives, as text: the error, or the size and a checksum of the pixels.
std::string outcome(std::span<const std::byte> bytes) {
  try {
    const image img = data::decode_image(bytes, "input");
    double sum = 0;
    for (std::size_t i = 0; i < img.pixels.size(); ++i) sum += static_cast<double>(img.pixels[i]) * static_cast<double>(i % 97 + 1);
    return str(img.channels, " x ", img.height, " x ", img.width, " sum ", sum);
  } catch (const error& e) {
    return e.what();
  }
}

// Leaves freed heap blocks of the sizes stb's JPEG decoder allocates filled with a pattern, so that a
// decoder reading memory it never wrote would see different garbage on each call.
void scribble_heap(unsigned char pattern) {
  std::vector<std::unique_ptr<unsigned char[]>> blocks;
  for (const std::size_t size : {4096, 8192, 16384, 20000, 24576, 32768, 65536}) {
    blocks.push_back(std::make_unique<unsigned char[]>(size));
    std::fill_n(blocks.back().get(), size, pattern);
  }
}

}  // namespace

TEST_CASE("PNG round trips are exact, in memory and through files") {
  scratch_dir dir;
  for (const std::int64_t channels : {1, 3}) {
    CAPTURE(channels);
    const image img = random_bytes_image(channels, 23, 31, static_cast<std::uint64_t>(channels));
    CHECK(data::decode_image(data::encode_png(img), "memory.png") == img);
    const fs::path file = dir.path / ("round_trip_" + std::to_string(channels) + ".png");
    data::write_png(file, img);
    CHECK(data::load_image(file) == img);
    CHECK(data::load_image(file, color_mode::keep).channels == channels);
  }
  const image one(1, 1, 1, 200.0f);
  CHECK(data::decode_image(data::encode_png(one), "one.png") == one);
}

TEST_CASE("encode_png rounds to nearest, clamps to [0, 255] and refuses NaN") {
  image img(1, 1, 10);
  img.pixels = {-5.0f, 0.49f, 0.5f, 1.5f, 127.4999f, 254.5f, 255.2f, 1000.0f, -INFINITY, INFINITY};
  const image back = data::decode_image(data::encode_png(img), "clamped.png");
  CHECK(back.pixels == std::vector<float>{0, 0, 1, 2, 127, 255, 255, 255, 0, 255});

  img.at(0, 0, 7) = NAN;
  CHECK_THROWS_WITH_AS(data::encode_png(img), doctest::Contains("encode_png: pixel (channel 0, row 0, column 7) is NaN"),
                       error);
}

TEST_CASE("JPEG round trips stay within a few levels") {
  // JPEG is lossy: at quality 95 stb's encoder (4:4:4) and decoder bring a smooth image with a little noise
  // back within a few levels (measured 6 at most, 1.4 on average); at quality 75 (4:2:0 chroma) about the same.
  scratch_dir dir;
  for (const std::int64_t channels : {1, 3}) {
    CAPTURE(channels);
    const image img = picture(channels, 40, 56, static_cast<std::uint64_t>(10 + channels));
    const fs::path file = dir.path / "round_trip.jpg";
    data::write_jpeg(file, img);
    // stb writes every JPEG as YCbCr: a gray image is read back in gray mode.
    const color_mode mode = channels == 1 ? color_mode::gray : color_mode::keep;
    const image back = data::load_image(file, mode);
    CHECK(data::load_image(file).channels == 3);
    const difference d95 = compare(back, img);
    CAPTURE(d95.max);
    CAPTURE(d95.mean);
    CHECK(d95.max <= 8.0);
    CHECK(d95.mean <= 2.0);
    const difference d75 = compare(data::decode_image(data::encode_jpeg(img, 75), "q75.jpg", mode), img);
    CAPTURE(d75.max);
    CAPTURE(d75.mean);
    CHECK(d75.max <= 12.0);
    CHECK(d75.mean <= 2.5);
  }
}

TEST_CASE("files written by PIL decode to the values PIL reads from them") {
  // keep: what stb reports (BMP and GIF are always colour to stb, so PIL's 'L' BMP comes back as 3 equal
  // channels). PNG, BMP, TGA and GIF are lossless: exact. JPEG decoders may differ: libjpeg-turbo (PIL) and stb use different
  // IDCT arithmetic and chroma upsampling, so the values agree only to a level or two (measured: at most 2,
  // on average under 0.1; 4:2:0 chroma is where the upsampling filters differ most).
  struct expectation {
    const char* name;
    std::int64_t keep_channels;
    double max_difference;
    double mean_difference;
  };
  const expectation files[] = {
      {"gray.png", 1, 0, 0},        {"rgb.png", 3, 0, 0},         {"rgba.png", 3, 0, 0},
      {"gray_alpha.png", 1, 0, 0},  {"palette.png", 3, 0, 0},     {"palette_transparent.png", 3, 0, 0},
      {"bilevel.png", 1, 0, 0},     {"gray.jpg", 1, 2, 0.1},      {"rgb_444.jpg", 3, 2, 0.1},
      {"rgb_420.jpg", 3, 3, 0.2},   {"rgb_progressive.jpg", 3, 2, 0.1}, {"rgb.bmp", 3, 0, 0},
      {"gray.bmp", 3, 0, 0},        {"palette.bmp", 3, 0, 0},     {"rgb.tga", 3, 0, 0},
      {"rgb_rle.tga", 3, 0, 0},     {"gray_rle.tga", 1, 0, 0},    {"palette.gif", 3, 0, 0},
  };
  for (const auto& f : files) {
    const std::string name = f.name;
    CAPTURE(name);
    const image keep = data::load_image(pil_file(f.name));
    CHECK(keep.channels == f.keep_channels);
    const npy_array pil = read_npy(pil_file(std::string(f.name) + ".npy"));
    const difference d = compare(keep, pil_image(pil, keep.channels));
    CAPTURE(d.max);
    CAPTURE(d.mean);
    CHECK(d.max <= f.max_difference);
    CHECK(d.mean <= f.mean_difference);
  }
}

TEST_CASE("colour modes: gray is BT.601 luma of the decoded RGB, rgb replicates gray files") {
  for (const std::string name : {"rgb.png", "rgba.png", "palette.png", "rgb_444.jpg", "rgb.bmp", "gray.bmp"}) {
    CAPTURE(name);
    const image rgb = data::load_image(pil_file(name), color_mode::rgb);
    REQUIRE(rgb.channels == 3);
    CHECK(data::load_image(pil_file(name), color_mode::gray) == data::to_grayscale(rgb));
    CHECK(data::load_image(pil_file(name), color_mode::keep) == rgb);
  }
  for (const std::string name : {"gray.png", "gray_alpha.png", "bilevel.png", "gray.jpg"}) {
    CAPTURE(name);
    const image gray = data::load_image(pil_file(name), color_mode::gray);
    REQUIRE(gray.channels == 1);
    CHECK(data::load_image(pil_file(name)) == gray);
    CHECK(data::load_image(pil_file(name), color_mode::rgb) == data::to_rgb(gray));
  }
}

TEST_CASE("BMP rows come out top row first whether stored bottom-up or top-down") {
  const std::vector<unsigned char> rgb = {255, 0, 0, 0, 255, 0, 0, 0, 255,  // top row: red, green, blue
                                          10, 20, 30, 40, 50, 60, 70, 80, 90};
  image expected(3, 2, 3);
  for (std::int64_t y = 0; y < 2; ++y)
    for (std::int64_t x = 0; x < 3; ++x)
      for (std::int64_t c = 0; c < 3; ++c) expected.at(c, y, x) = rgb[static_cast<std::size_t>((y * 3 + x) * 3 + c)];
  CHECK(data::decode_image(bmp24(3, 2, rgb), "bottom_up.bmp") == expected);
  CHECK(data::decode_image(bmp24(3, -2, rgb), "top_down.bmp") == expected);
  CHECK_THROWS_WITH_AS(data::decode_image(bmp24(3, INT32_MIN, {}, 0), "min_height.bmp"),
                       doctest::Contains("min_height.bmp: image header says 3 x -2147483648 pixels"), error);
}

TEST_CASE("missing, empty, directory and non-image files are errors naming the file") {
  scratch_dir dir;
  const fs::path missing = dir.path / "missing.png";
  CHECK_THROWS_WITH_AS(data::load_image(missing),
                       contains(missing.string() + ": cannot open for reading: No such file or directory"),
                       error);
  const fs::path empty = dir.path / "empty.png";
  write_bytes(empty, {});
  CHECK_THROWS_WITH_AS(data::load_image(empty), contains(empty.string() + ": empty file (0 bytes)"), error);
  CHECK_THROWS_WITH_AS(data::load_image(dir.path), contains(dir.path.string()), error);
  const fs::path text = dir.path / "notes.png";
  write_bytes(text, text_bytes("subject,clip,onset,apex\nsub01,EP02_01f,46,59\n"));
  CHECK_THROWS_WITH_AS(data::load_image(text, color_mode::gray),
                       contains(text.string() + ": not a readable image (stb_image: unknown image type)"),
                       error);
  CHECK_THROWS_WITH_AS(data::decode_image({}, "nothing"), doctest::Contains("nothing: empty file"), error);
}

TEST_CASE("a PNG truncated anywhere before its final CRC is an error") {
  // stb checks no CRCs, so a PNG missing only the IEND chunk's 4-byte CRC still holds every pixel and decodes
  // to the full image. Every shorter prefix is an error naming the origin.
  const std::vector<std::byte> file = bytes_of(pil_file("rgb.png"));
  const image full = data::decode_image(file, "rgb.png");
  for (std::size_t n = 0; n < file.size(); ++n) {
    const std::span<const std::byte> prefix(file.data(), n);
    if (n < file.size() - 4) {
      CHECK_THROWS_WITH_AS(data::decode_image(prefix, "truncated.png"), doctest::Contains("truncated.png: "), error);
    } else {
      CHECK(data::decode_image(prefix, "truncated.png") == full);
    }
  }
}

TEST_CASE("a JPEG truncated at any length is an error with stb 2.27") {
  // stb 2.27 insists on the end-of-image marker, so every truncation fails ("expected marker" once the
  // header is complete) instead of returning a partial image, for baseline, 4:2:0 and progressive files.
  // If a later stb returned partial images, this test would say so; the only acceptable alternative is a
  // full-size image, which is what libjpeg produces from a truncated scan.
  for (const std::string name : {"rgb_444.jpg", "rgb_420.jpg", "rgb_progressive.jpg", "gray.jpg"}) {
    CAPTURE(name);
    const std::vector<std::byte> file = bytes_of(pil_file(name));
    int errors = 0;
    for (std::size_t n = 0; n < file.size(); ++n) {
      try {
        const image partial = data::decode_image(std::span<const std::byte>(file.data(), n), "truncated.jpg");
        CHECK(partial.height == 37);
        CHECK(partial.width == 45);
      } catch (const error& e) {
        ++errors;
        REQUIRE(std::string(e.what()).starts_with("truncated.jpg: "));
      }
    }
    CHECK(errors == static_cast<int>(file.size()));
  }
}

TEST_CASE("a truncated BMP is an error, not an image with black rows") {
  // stb reads missing BMP bytes as zeros; fergen checks the rows the header promises are there. Only the
  // last row's padding may be missing (stb never reads it).
  for (const std::string name : {"rgb.bmp", "gray.bmp", "palette.bmp"}) {
    CAPTURE(name);
    const std::vector<std::byte> file = bytes_of(pil_file(name));
    const image full = data::decode_image(file, name);
    const std::size_t last_padding = std::string_view(name) == "rgb.bmp" ? 1 : 3;  // 45*3 = 135, 45 bytes
    for (std::size_t n = 0; n < file.size(); ++n) {
      const std::span<const std::byte> prefix(file.data(), n);
      if (n < file.size() - last_padding) {
        CHECK_THROWS_WITH_AS(data::decode_image(prefix, "cut.bmp"), doctest::Contains("cut.bmp: "), error);
      } else {
        CHECK(data::decode_image(prefix, "cut.bmp") == full);
      }
    }
  }
  CHECK_THROWS_WITH_AS(data::decode_image(bmp24(4000, 4000, {}, 10), "claims_4000.bmp"),
                       doctest::Contains("claims_4000.bmp: truncated BMP: a 4000 x 4000 image of 24 bits per pixel "
                                         "from byte 54 needs 48000054 bytes, the file has 64"),
                       error);
}

TEST_CASE("a truncated TGA is an error, not an image of uninitialised memory") {
  // stb ignores running out of TGA data (uncompressed rows stay uninitialised); fergen checks the size. The
  // 26-byte footer PIL writes after the pixels may be missing.
  const std::vector<std::byte> file = bytes_of(pil_file("rgb.tga"));
  const image full = data::decode_image(file, "rgb.tga");
  const std::size_t pixels_end = 18 + 37 * 45 * 3;
  for (std::size_t n = 0; n < file.size(); ++n) {
    const std::span<const std::byte> prefix(file.data(), n);
    if (n < pixels_end) {
      CHECK_THROWS_WITH_AS(data::decode_image(prefix, "cut.tga"), doctest::Contains("cut.tga: "), error);
    } else {
      CHECK(data::decode_image(prefix, "cut.tga") == full);
    }
  }
  // RLE: only a lower bound is known (128 pixels per packet at best), so a file far too short is refused; one
  // cut a little short decodes with zeros for the missing runs, as stb reads them.
  const std::vector<std::byte> rle = bytes_of(pil_file("gray_rle.tga"));
  CHECK_THROWS_WITH_AS(data::decode_image(std::span<const std::byte>(rle.data(), 20), "cut_rle.tga"),
                       doctest::Contains("cut_rle.tga: truncated or corrupt TGA: a 45 x 37 run-length encoded image of "
                                         "8 bits per pixel needs at least 46 bytes, the file has 20"),
                       error);
}

TEST_CASE("inputs that crashed or hung stb 2.27 under the fuzzer are refused or decoded safely") {
  // A DHT segment whose code counts add up to 340: stb would write past its 257-entry tables.
  CHECK_THROWS_WITH_AS(data::load_image(regression_input("regression_dht_overflow.jpg")),
                       doctest::Contains("corrupt JPEG: the Huffman table at byte 177 declares 340 codes, more than the "
                                         "256 a table can hold"),
                       error);
  // Nothing but long runs of empty Huffman tables: the DHT check stops counting instead of going quadratic.
  std::vector<std::byte> tables = {std::byte{0xFF}, std::byte{0xD8}};
  for (int k = 0; k < 20; ++k) {
    for (const int b : {0xFF, 0xC4, 0xFF, 0xFF}) tables.push_back(static_cast<std::byte>(b));
    tables.resize(tables.size() + 65540, std::byte{0});  // longer than the segment: each walk stays in zeros
  }
  CHECK_THROWS_WITH_AS(data::decode_image(tables, "tables.jpg"),
                       doctest::Contains("tables.jpg: corrupt JPEG: more than 65536 Huffman table headers"), error);
  // A 142-byte TGA claiming 3596 x 5130 pixels: stb decoded 18 megapixels of nothing (and took seconds).
  CHECK_THROWS_WITH_AS(data::load_image(regression_input("regression_tga_forged_size.tga")),
                       doctest::Contains("truncated or corrupt TGA: a 3596 x 5130 run-length encoded image"), error);
  // A progressive JPEG whose scans use Huffman tables it never defines: stb read them from uninitialised
  // heap memory and, depending on what the heap held, aborted on an assertion. With the default tables the
  // outcome no longer depends on the heap.
  const std::vector<std::byte> undefined = bytes_of(regression_input("regression_undefined_huffman.jpg"));
  scribble_heap(0x00);
  const std::string first = outcome(undefined);
  for (const int pattern : {0xA5, 0xFF, 0x5A}) {
    scribble_heap(static_cast<unsigned char>(pattern));
    CHECK(outcome(undefined) == first);
  }
}

TEST_CASE("a JPEG without Huffman tables decodes with the standard ones, as libjpeg does for Motion-JPEG") {
  // PIL writes baseline JPEGs with the Annex K tables, so without them the file must decode exactly as before.
  for (const std::string name : {"gray.jpg", "rgb_444.jpg", "rgb_420.jpg"}) {
    CAPTURE(name);
    const std::vector<std::byte> file = bytes_of(pil_file(name));
    const std::vector<std::byte> stripped = without_huffman_tables(file);
    REQUIRE(stripped.size() < file.size());
    CHECK(data::decode_image(stripped, "mjpeg.jpg") == data::decode_image(file, name));
    for (const int pattern : {0x00, 0xFF}) {  // and not by luck of what the heap held
      scribble_heap(static_cast<unsigned char>(pattern));
      CHECK(data::decode_image(stripped, "mjpeg.jpg") == data::decode_image(file, name));
    }
  }
}

TEST_CASE("forged headers with zero or huge sizes are refused before decoding") {
  // Zero-sized PNG: stb's header scan refuses it itself (and reports only "unknown image type", having
  // tried every other format after PNG; the message says what the file claimed).
  CHECK_THROWS_WITH_AS(data::decode_image(forged_png(0, 10), "zero_width.png"),
                       doctest::Contains("zero_width.png: not a readable image: a PNG file whose IHDR says 0 x 10 "
                                         "pixels that stb_image refuses as corrupt or unsupported"),
                       error);
  CHECK_THROWS_WITH_AS(data::decode_image(forged_png(10, 0), "zero_height.png"),
                       doctest::Contains("zero_height.png: not a readable image: a PNG file whose IHDR says 10 x 0"),
                       error);
  // 100000 x 100000 = 10^10 pixels: stb's own PNG limit (2^30 bytes) stops it at the header too.
  CHECK_THROWS_WITH_AS(data::decode_image(forged_png(100000, 100000), "huge.png"),
                       doctest::Contains("huge.png: not a readable image: a PNG file whose IHDR says 100000 x 100000"),
                       error);
  // 10000 x 10000 passes stb's limits and would make it allocate 100 MB (and fergen 400 MB of floats) for a
  // 70-byte file: fergen's own 2^26-pixel limit refuses it from the header, before stbi_load runs.
  for (const auto mode : {color_mode::keep, color_mode::gray, color_mode::rgb})
    CHECK_THROWS_WITH_AS(data::decode_image(forged_png(10000, 10000), "big.png", mode),
                         doctest::Contains("big.png: image header says 10000 x 10000 = 100000000 pixels, more than the "
                                           "2^26 (67108864) fergen decodes"),
                         error);
  CHECK_THROWS_WITH_AS(data::decode_image(forged_jpeg(10000, 10000), "big.jpg"),
                       doctest::Contains("big.jpg: image header says 10000 x 10000 = 100000000 pixels"), error);
  CHECK_THROWS_WITH_AS(data::decode_image(forged_jpeg(0, 10), "zero.jpg"),
                       doctest::Contains("zero.jpg: not a readable image: a JPEG file that stb_image refuses"), error);
  CHECK_THROWS_WITH_AS(data::decode_image(bmp24(9000, 9000, {}, 0), "big.bmp"),
                       doctest::Contains("big.bmp: image header says 9000 x 9000 = 81000000 pixels"), error);
  CHECK_THROWS_WITH_AS(data::decode_image(bmp24(0, 5, {}, 0), "zero.bmp"),
                       doctest::Contains("zero.bmp: image header says 0 x 5 pixels"), error);
  // Within the limit and a complete header, but no pixel data: the decoder's own error, not a crash.
  CHECK_THROWS_WITH_AS(data::decode_image(forged_png(4096, 4096), "no_data.png"),
                       doctest::Contains("no_data.png: cannot decode the 4096 x 4096 image"), error);
}

TEST_CASE("writing refuses what it cannot write and names the file") {
  scratch_dir dir;
  const image gray = picture(1, 8, 9, 3);
  const fs::path nowhere = dir.path / "no" / "such" / "dir" / "x.png";
  CHECK_THROWS_WITH_AS(data::write_png(nowhere, gray), contains(nowhere.string() + ": cannot create"), error);
  CHECK_THROWS_WITH_AS(data::write_jpeg(nowhere, gray), contains(nowhere.string() + ": cannot create"), error);

  const fs::path file = dir.path / "kept.png";
  data::write_png(file, gray);
  const auto before = bytes_of(file);
  CHECK_THROWS_WITH_AS(data::write_png(file, image(2, 8, 9)),
                       contains("write_png: " + file.string() + ": image 2 x 8 x 9 has 2 channels"), error);
  CHECK_THROWS_WITH_AS(data::write_png(file, image(4, 8, 9)), doctest::Contains("has 4 channels"), error);
  image broken = gray;
  broken.pixels.resize(3);
  CHECK_THROWS_WITH_AS(data::write_png(file, broken), doctest::Contains("1 x 8 x 9 holds 3 values"), error);
  CHECK_THROWS_WITH_AS(data::encode_png(image{}), doctest::Contains("encode_png: image 0 x 0 x 0"), error);
  CHECK_THROWS_WITH_AS(data::write_jpeg(file, gray, 0), doctest::Contains("JPEG quality 0 is outside 1..100"), error);
  CHECK_THROWS_WITH_AS(data::encode_jpeg(gray, 101), doctest::Contains("encode_jpeg: JPEG quality 101"), error);
  CHECK_THROWS_WITH_AS(data::encode_jpeg(image(1, 1, 70000)), doctest::Contains("1 x 70000 is larger than JPEG's"), error);
  // Failed writes leave the old file as it was and no temporary files behind.
  CHECK(bytes_of(file) == before);
  std::vector<fs::path> left;
  for (const auto& entry : fs::directory_iterator(dir.path)) left.push_back(entry.path().filename());
  CHECK(left == std::vector<fs::path>{"kept.png"});
}
