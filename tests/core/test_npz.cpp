// Tests for fergen/core/npz.hpp: np.savez / np.savez_compressed archives (zip64 included) read exactly,
// fergen's archives read by numpy and zipfile, and damaged archives always a fergen::error, never a crash.
#include <fergen/core/npz.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include "support/errors.hpp"

namespace {

using fergen::testing::contains;
using fergen::testing::error_of;

namespace fs = std::filesystem;
using fergen::dtype;
using fergen::npy_array;
using fergen::npz_archive;
using fergen::npz_compression;

const fs::path fixtures = FERGEN_TEST_DATA_DIR "/npy_fixtures";  // written by make_npy_fixtures.py
const fs::path scratch = FERGEN_TEST_DATA_DIR "/test_npz";       // what these tests write

std::vector<std::byte> file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE_MESSAGE(in, "cannot open ", p.string());
  const std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

std::string shell_quote(std::string_view s) {
  std::string q = "'";
  for (const char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

bool run_python(std::string_view script, const std::vector<std::string>& args) {
  std::string command = shell_quote(FERGEN_PYTHON) + " -c " + shell_quote(script);
  for (const auto& a : args) command.append(" ").append(shell_quote(a));
  return std::system(command.c_str()) == 0;
}

std::uint32_t u32_at(std::span<const std::byte> b, std::size_t at) { return fergen::detail::load_u32(b, at); }
void put_u16(std::vector<std::byte>& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::byte>(v & 0xFF);
  b[at + 1] = static_cast<std::byte>(v >> 8);
}
void put_u32(std::vector<std::byte>& b, std::size_t at, std::uint32_t v) {
  put_u16(b, at, static_cast<std::uint16_t>(v & 0xFFFF));
  put_u16(b, at + 2, static_cast<std::uint16_t>(v >> 16));
}

// Offset of the first central directory header, read from the end record of an archive without comment.
std::size_t central_offset(std::span<const std::byte> zip) { return u32_at(zip, zip.size() - 22 + 16); }

// A zip of raw members (any names, duplicates allowed), for archives np.savez would never write.
std::vector<std::byte> zip_of(const std::vector<std::pair<std::string, std::vector<std::byte>>>& members,
                              npz_compression compression = npz_compression::stored) {
  fergen::detail::zip_builder zip("crafted.zip", compression);
  std::vector<std::byte> out;
  for (const auto& [name, data] : members) {
    const auto m = zip.add(name, data);
    out.insert(out.end(), m.begin(), m.end());
  }
  const auto tail = zip.finish();
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

struct expected_array {
  std::string file, key, descr;
  std::vector<std::int64_t> shape;
  std::vector<std::string> values;
};

std::vector<expected_array> load_expected() {
  std::ifstream in(fixtures / "expected.txt");
  REQUIRE_MESSAGE(in, "cannot open ", (fixtures / "expected.txt").string(), " (did the npy_fixtures test run?)");
  std::vector<expected_array> all;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    expected_array e;
    std::size_t rank = 0, count = 0;
    fields >> e.file >> e.key >> e.descr >> rank;
    e.shape.resize(rank);
    for (auto& d : e.shape) fields >> d;
    fields >> count;
    e.values.resize(count);
    for (auto& v : e.values) fields >> v;
    REQUIRE_MESSAGE(!fields.fail(), "malformed expected.txt line: ", line.substr(0, 80));
    all.push_back(std::move(e));
  }
  return all;
}

// Empty when a matches e exactly (dtype, shape, every value bit for bit, NaN for NaN), else what differs.
std::string mismatch(const npy_array& a, const expected_array& e) {
  if (fergen::to_string(a.dtype) != e.descr) return "dtype " + std::string(fergen::to_string(a.dtype));
  if (a.shape != e.shape) return "shape " + fergen::detail::shape_to_string(a.shape);
  if (a.bytes.size() != e.values.size() * fergen::size_of(a.dtype)) return "byte count";
  const auto f = a.values<double>();
  for (std::size_t i = 0; i < e.values.size(); ++i) {
    const std::string& text = e.values[i];
    bool same = false;
    switch (e.descr[1]) {
      case 'f': {
        const double want = std::strtod(text.c_str(), nullptr);
        same = (std::isnan(want) && std::isnan(f[i])) || (want == f[i] && std::signbit(want) == std::signbit(f[i]));
        break;
      }
      case 'i':
        same = a.values<std::int64_t>()[i] == std::strtoll(text.c_str(), nullptr, 10);
        break;
      case 'u':
        same = a.values<std::uint64_t>()[i] == std::strtoull(text.c_str(), nullptr, 10);
        break;
      case 'b':
        same = a.values<int>()[i] == std::stoi(text);
        break;
      default:
        return "unexpected descr " + e.descr;
    }
    if (!same) return "element " + std::to_string(i) + " differs from numpy's " + text;
  }
  return {};
}

// The archive the round-trip tests write; the numpy script below rebuilds the same values.
npz_archive model_archive() {
  std::vector<float> w(54);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i) * 0.125f - 3.f;
  std::vector<double> b(7);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<double>(i) * 0.5 + 0.25;
  const std::array<std::int64_t, 1> tracked{123};
  const bool mask[] = {true, false, true, false, true, false, true, false, true, false};
  const std::array<std::uint16_t, 3> sizes{1, 2, 65535};
  npz_archive a;
  a["features.0.weight"] = fergen::make_npy(w, {2, 3, 3, 3});
  a["fc.bias"] = fergen::make_npy(b, {7});
  a["bn1.num_batches_tracked"] = fergen::make_npy(tracked, {});
  a["mask"] = fergen::make_npy(std::span<const bool>(mask), {2, 5});
  a["gr\xc3\xb6\xc3\x9f"
    "e"] = fergen::make_npy(sizes, {3});  // a UTF-8 key
  return a;
}

// Two small members: small enough that looping over every byte stays fast.
npz_archive small_archive() {
  const std::array<float, 6> v{1.5f, -2.f, 0.25f, 8.f, -0.f, 3.f};
  const std::array<std::int64_t, 1> n{7};
  return {{"a", fergen::make_npy(v, {2, 3})}, {"b", fergen::make_npy(n, {})}};
}

void check_same(const npz_archive& got, const npz_archive& want) {
  REQUIRE(got.size() == want.size());
  for (const auto& entry : want) {  // clang < 16 cannot capture structured bindings, and CAPTURE does
    const std::string& key = entry.first;
    const npy_array& a = entry.second;
    CAPTURE(key);
    REQUIRE(got.contains(key));
    const npy_array& b = got.at(key);
    CHECK(b.dtype == a.dtype);
    CHECK(b.shape == a.shape);
    CHECK(b.bytes == a.bytes);
  }
}

}  // namespace

TEST_CASE("parse_npz: np.savez, np.savez_compressed, commented and all-zip64 archives read exactly") {
  const std::vector<expected_array> expected = load_expected();
  for (const char* file : {"savez.npz", "savez_compressed.npz", "commented.npz", "zip64_everywhere.npz"}) {
    CAPTURE(file);
    const npz_archive archive = fergen::read_npz(fixtures / file);
    std::size_t members = 0;
    for (const expected_array& e : expected) {
      if (e.file != file) continue;
      CAPTURE(e.key);
      ++members;
      REQUIRE(archive.contains(e.key));
      CHECK(mismatch(archive.at(e.key), e) == "");
    }
    CHECK(members == 5);
    CHECK(archive.size() == members);
    // torch keeps BatchNorm's counter as a 0-d int64; it must stay 0-d, not become shape (1,).
    const npy_array& tracked = archive.at("bn1.num_batches_tracked");
    CHECK(tracked.shape.empty());
    CHECK(tracked.values<std::int64_t>() == std::vector<std::int64_t>{123});
  }
}

TEST_CASE("write_npz: stored and deflate archives read back equal in fergen and in numpy") {
  fs::create_directories(scratch);
  const npz_archive archive = model_archive();
  for (const auto& setting :
       {std::pair{"stored.npz", npz_compression::stored}, std::pair{"deflate.npz", npz_compression::deflate}}) {
    const std::string name = setting.first;
    const npz_compression compression = setting.second;
    CAPTURE(name);
    const fs::path p = scratch / name;
    fergen::write_npz(p, archive, compression);
    check_same(fergen::read_npz(p), archive);
    // Fixed timestamps: the same arrays give the same bytes, in memory and on disk.
    const std::vector<std::byte> bytes = fergen::serialize_npz(archive, compression);
    CHECK(bytes == fergen::serialize_npz(archive, compression));
    CHECK(bytes == file_bytes(p));
  }
  CHECK(fs::file_size(scratch / "deflate.npz") < fs::file_size(scratch / "stored.npz"));
  check_same(fergen::parse_npz(fergen::serialize_npz({}), "empty.npz"), {});

  const char* script = R"py(
import sys, zipfile, numpy as np
d = sys.argv[1]
want = {
    "features.0.weight": (np.arange(54) * 0.125 - 3).astype("<f4").reshape(2, 3, 3, 3),
    "fc.bias": np.arange(7) * 0.5 + 0.25,
    "bn1.num_batches_tracked": np.array(123, dtype="<i8"),
    "mask": (np.arange(10) % 2 == 0).reshape(2, 5),
    "gr\u00f6\u00dfe": np.array([1, 2, 65535], dtype="<u2"),
}
ok = True
for name, method in [("stored.npz", zipfile.ZIP_STORED), ("deflate.npz", zipfile.ZIP_DEFLATED)]:
    p = f"{d}/{name}"
    with zipfile.ZipFile(p) as z:
        if z.testzip() is not None or any(i.compress_type != method for i in z.infolist()):
            ok = False
            print(name, "zipfile: bad CRC or compression type", file=sys.stderr)
    with np.load(p) as f:
        if sorted(f.files) != sorted(want):
            ok = False
            print(name, "keys", f.files, file=sys.stderr)
        for k, v in want.items():
            a = f[k]
            if a.dtype != v.dtype or a.shape != v.shape or not np.array_equal(a, v):
                ok = False
                print(name, k, "differs:", a.dtype, a.shape, a.ravel()[:6], file=sys.stderr)
sys.exit(0 if ok else 1)
)py";
  CHECK_MESSAGE(run_python(script, {scratch.string()}), "numpy could not load what fergen wrote, see stderr");
}

TEST_CASE("read_npz: a missing file names the path; a file that is no zip says so") {
  const fs::path missing = scratch / "no_such_dir" / "weights.npz";
  const std::string message = error_of([&] { (void)fergen::read_npz(missing); });
  CHECK_MESSAGE(contains(message, missing.string() + ": cannot open for reading: No such file or directory"), message);
  const std::string npy = error_of([] { (void)fergen::read_npz(fixtures / "f4.npy"); });
  CHECK_MESSAGE(contains(npy, "f4.npy: not a zip archive"), npy);
  CHECK(contains(error_of([] { (void)fergen::parse_npz({}, "nothing.npz"); }), "nothing.npz: 0 bytes is too short"));
}

TEST_CASE("parse_npz: every truncation of a valid archive throws fergen::error") {
  const std::vector<std::vector<std::byte>> archives = {
      fergen::serialize_npz(small_archive(), npz_compression::stored),
      fergen::serialize_npz(small_archive(), npz_compression::deflate),
      file_bytes(fixtures / "savez_compressed.npz"),
      file_bytes(fixtures / "zip64_everywhere.npz"),
  };
  for (const auto& bytes : archives) {
    REQUIRE_NOTHROW((void)fergen::parse_npz(bytes, "whole.npz"));
    std::size_t thrown = 0;
    for (std::size_t k = 0; k < bytes.size(); ++k) {
      try {
        (void)fergen::parse_npz(std::span(bytes).first(k), "cut.npz");
      } catch (const fergen::error&) {
        ++thrown;
      }
    }
    CHECK(thrown == bytes.size());
  }
}

TEST_CASE("parse_npz: a flipped byte in member data is a CRC or inflate error naming the member") {
  for (const auto compression : {npz_compression::stored, npz_compression::deflate}) {
    const std::vector<std::byte> good = fergen::serialize_npz(small_archive(), compression);
    // Member "a.npy" comes first: its data follows the 30-byte local header and the 5-byte name.
    const std::size_t start = 30 + 5;
    const std::size_t size = u32_at(good, 18);
    for (std::size_t at = start; at < start + size; ++at) {
      std::vector<std::byte> bytes = good;
      bytes[at] ^= std::byte{0xFF};
      const std::string message = error_of([&] { (void)fergen::parse_npz(bytes, "flipped.npz"); });
      CAPTURE(at);
      REQUIRE_MESSAGE(contains(message, "flipped.npz: member 'a.npy': "), message);
      REQUIRE_MESSAGE((contains(message, "CRC-32") || contains(message, "deflate data")), message);
    }
  }
}

TEST_CASE("parse_npz: unsupported compression, encryption and non-.npy members are rejected by name") {
  const std::vector<std::byte> good = fergen::serialize_npz(small_archive(), npz_compression::deflate);
  const std::size_t central = central_offset(good);

  auto bzip2 = good;
  put_u16(bzip2, 8, 12);             // local header method
  put_u16(bzip2, central + 10, 12);  // central directory method
  CHECK(error_of([&] { (void)fergen::parse_npz(bzip2, "m.npz"); }) ==
        "m.npz: member 'a.npy': compression method 12 (bzip2) is not supported (fergen reads stored (0) and deflate "
        "(8))");

  auto encrypted = good;
  put_u16(encrypted, central + 8, 1);
  CHECK(contains(error_of([&] { (void)fergen::parse_npz(encrypted, "e.npz"); }),
                 "e.npz: member 'a.npy': the member is encrypted"));

  const auto npy = fergen::serialize_npy(small_archive().at("a"));
  const auto readme = zip_of({{"a.npy", npy}, {"readme.txt", {std::byte{'h'}, std::byte{'i'}}}});
  CHECK(contains(error_of([&] { (void)fergen::parse_npz(readme, "r.npz"); }),
                 "r.npz: member 'readme.txt': not an .npy file"));
}

TEST_CASE("parse_npz: duplicate member names are an error") {
  const auto a = fergen::serialize_npy(small_archive().at("a"));
  const auto b = fergen::serialize_npy(small_archive().at("b"));
  const auto twice = zip_of({{"w.npy", a}, {"w.npy", b}}, npz_compression::deflate);
  CHECK(error_of([&] { (void)fergen::parse_npz(twice, "d.npz"); }) ==
        "d.npz: member 'w.npy': the archive holds a member of that name twice");
}

TEST_CASE("parse_npz: a bad .npy inside names the archive, the member and the sizes") {
  const std::array<float, 12> v{};
  std::vector<std::byte> npy = fergen::serialize_npy(fergen::make_npy(v, {3, 4}));
  npy.resize(npy.size() - 8);  // 40 data bytes where the header promises 48
  for (const auto compression : {npz_compression::stored, npz_compression::deflate}) {
    const auto zip = zip_of({{"fc.weight.npy", npy}}, compression);
    CHECK(error_of([&] { (void)fergen::parse_npz(zip, "weights.npz"); }) ==
          "weights.npz: member 'fc.weight.npy': data is 40 bytes, header says shape (3, 4) of '<f4' = 48 bytes");
  }
}

TEST_CASE("parse_npz: forged sizes and offsets are errors, never huge allocations or reads out of bounds") {
  const std::vector<std::byte> deflated = fergen::serialize_npz(small_archive(), npz_compression::deflate);
  const std::vector<std::byte> stored = fergen::serialize_npz(small_archive(), npz_compression::stored);
  const std::size_t central = central_offset(deflated);

  // 4 GiB - 2 declared from a few hundred compressed bytes: inflate stops where the stream does.
  auto claims_4g = deflated;
  put_u32(claims_4g, central + 24, 0xFFFFFFFE);
  CHECK(contains(error_of([&] { (void)fergen::parse_npz(claims_4g, "f.npz"); }),
                 "f.npz: member 'a.npy': deflate data inflates to 152 bytes, the central directory says 4294967294"));

  // One byte fewer than the data holds: inflation must stop at the declared size.
  auto claims_less = deflated;
  put_u32(claims_less, central + 24, 151);
  CHECK(contains(error_of([&] { (void)fergen::parse_npz(claims_less, "f.npz"); }),
                 "inflates to more than the declared 151 bytes"));

  auto compressed_past_end = deflated;
  put_u32(compressed_past_end, central + 20, 0x7FFFFFFF);
  CHECK(contains(error_of([&] { (void)fergen::parse_npz(compressed_past_end, "f.npz"); }), "run past"));

  auto stored_mismatch = stored;
  put_u32(stored_mismatch, central_offset(stored) + 24, 100);
  CHECK(contains(error_of([&] { (void)fergen::parse_npz(stored_mismatch, "f.npz"); }), "declares 100 uncompressed"));

  auto zip64_without_extra = stored;
  put_u32(zip64_without_extra, central_offset(stored) + 24, 0xFFFFFFFF);
  CHECK(contains(error_of([&] { (void)fergen::parse_npz(zip64_without_extra, "f.npz"); }), "no zip64 extra field"));

  auto local_outside = stored;
  put_u32(local_outside, central_offset(stored) + 42, 0x10000000);
  CHECK(contains(error_of([&] { (void)fergen::parse_npz(local_outside, "f.npz"); }), "local header offset 268435456"));

  auto directory_outside = stored;
  put_u32(directory_outside, stored.size() - 22 + 16, 0xFFFFFF00);
  CHECK(contains(error_of([&] { (void)fergen::parse_npz(directory_outside, "f.npz"); }),
                 "the central directory (offset 4294967040"));

  auto too_many = stored;
  put_u16(too_many, stored.size() - 22 + 8, 60000);
  put_u16(too_many, stored.size() - 22 + 10, 60000);
  CHECK(contains(error_of([&] { (void)fergen::parse_npz(too_many, "f.npz"); }), "counts 60000 members"));

  auto multi_disk = stored;
  put_u16(multi_disk, stored.size() - 22 + 4, 1);
  CHECK(contains(error_of([&] { (void)fergen::parse_npz(multi_disk, "f.npz"); }), "multi-disk"));
}

TEST_CASE("parse_npz: 2000 random byte flips of small archives each parse consistently or throw fergen::error") {
  std::mt19937 rng(4242);
  int parsed = 0, rejected = 0;
  for (const auto compression : {npz_compression::stored, npz_compression::deflate}) {
    const std::vector<std::byte> good = fergen::serialize_npz(small_archive(), compression);
    for (int trial = 0; trial < 1000; ++trial) {
      std::vector<std::byte> bytes = good;
      const int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] ^= static_cast<std::byte>(1 + rng() % 255);
      try {
        const npz_archive archive = fergen::parse_npz(bytes, "flipped.npz");
        for (const auto& [key, a] : archive)
          REQUIRE(a.bytes.size() == static_cast<std::size_t>(a.count()) * fergen::size_of(a.dtype));
        ++parsed;
      } catch (const fergen::error&) {
        ++rejected;
      }
    }
  }
  MESSAGE("byte flips: ", parsed, " parsed, ", rejected, " rejected");
  CHECK(parsed > 0);
  CHECK(rejected > 0);
}

TEST_CASE("write_npz: limits and failures are errors naming the path, and leave no file behind") {
  fs::create_directories(scratch);
  npz_archive many;
  for (int i = 0; i < 65536; ++i) many.emplace(std::to_string(i), npy_array{});
  const fs::path p = scratch / "many.npz";
  CHECK(contains(error_of([&] { fergen::write_npz(p, many); }),
                 p.string() + ": 65536 arrays do not fit a plain zip archive (at most 65535 members)"));
  CHECK(!fs::exists(p));

  const fs::path nowhere = scratch / "no_such_dir" / "w.npz";
  const std::string message = error_of([&] { fergen::write_npz(nowhere, small_archive()); });
  CHECK_MESSAGE(contains(message, nowhere.string()), message);
  CHECK_MESSAGE(contains(message, "No such file or directory"), message);

  // A member that cannot be serialized aborts the write: no archive, no temporary file.
  npz_archive broken = small_archive();
  broken["c"].shape = {2};  // float32 with no bytes
  const fs::path q = scratch / "broken.npz";
  const std::string broken_message = error_of([&] { fergen::write_npz(q, broken); });
  CHECK_MESSAGE(contains(broken_message, q.string() + ": member 'c.npy': serialize_npy: bytes holds 0 bytes"),
                broken_message);
  CHECK(!fs::exists(q));
  for (const auto& entry : fs::directory_iterator(scratch))
    CHECK_MESSAGE(!contains(entry.path().filename().string(), ".tmp-"), entry.path().string());
}
