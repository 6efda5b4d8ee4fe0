// Tests for fergen/core/zip.hpp: members listed and extracted by name from fergen's own archives and from
// the ones numpy's zipfile writes (deflate, zip64), CRC and bounds checks, and the messages that name the
// archive and the member.
#include <fergen/core/npz.hpp>
#include <fergen/core/zip.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include "support/errors.hpp"

namespace {

using fergen::testing::contains;
using fergen::testing::error_of;

namespace fs = std::filesystem;
using fergen::zip_compression;
using fergen::zip_entry;
using fergen::zip_reader;
using fergen::zip_writer;

const fs::path npy_fixtures = FERGEN_TEST_DATA_DIR "/npy_fixtures";  // written by make_npy_fixtures.py

std::vector<std::byte> bytes_of(std::string_view s) {
  std::vector<std::byte> b(s.size());
  if (!s.empty()) std::memcpy(b.data(), s.data(), s.size());
  return b;
}

std::string text_of(const std::vector<std::byte>& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::vector<std::byte> zip_of(const std::vector<std::pair<std::string, std::string>>& members,
                              zip_compression compression = zip_compression::deflate) {
  zip_writer zip("crafted.zip", compression);
  std::vector<std::byte> out;
  for (const auto& [name, data] : members) {
    const auto m = zip.add(name, bytes_of(data));
    out.insert(out.end(), m.begin(), m.end());
  }
  const auto tail = zip.finish();
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

void put_u16(std::vector<std::byte>& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::byte>(v & 0xFF);
  b[at + 1] = static_cast<std::byte>(v >> 8);
}

// Offset of the first central directory header, read from the end record of an archive without comment.
std::size_t central_offset(std::span<const std::byte> zip) { return fergen::detail::load_u32(zip, zip.size() - 6); }

const std::vector<std::pair<std::string, std::string>> sample_members = {
    {"[Content_Types].xml", "<Types/>"},
    {"xl/workbook.xml", "<workbook>" + std::string(3000, 'w') + "</workbook>"},
    {"xl/empty.bin", ""},
    {"gr\xc3\xb6\xc3\x9f" "e.txt", "utf-8 name"},
};

}  // namespace

TEST_CASE("zip_reader: lists and extracts every member of stored and deflate archives, names in order") {
  for (const auto compression : {zip_compression::stored, zip_compression::deflate}) {
    CAPTURE(static_cast<int>(compression));
    const std::vector<std::byte> archive = zip_of(sample_members, compression);
    const zip_reader zip(archive, "sample.zip");
    CHECK(zip.origin() == "sample.zip");
    REQUIRE(zip.size() == sample_members.size());
    const std::vector<std::string> names = zip.names();
    const std::vector<zip_entry> entries = zip.entries();
    REQUIRE(names.size() == sample_members.size());
    for (std::size_t i = 0; i < sample_members.size(); ++i) {
      CHECK(names[i] == sample_members[i].first);
      CHECK(entries[i].name == sample_members[i].first);
      CHECK(entries[i].size == sample_members[i].second.size());
      CHECK(entries[i].method == (compression == zip_compression::deflate ? 8u : 0u));
      CHECK_FALSE(entries[i].encrypted());
      CHECK(text_of(zip.extract(sample_members[i].first)) == sample_members[i].second);
      CHECK(text_of(zip.extract(entries[i])) == sample_members[i].second);
      CHECK(zip.contains(sample_members[i].first));
    }
    if (compression == zip_compression::deflate) CHECK(entries[1].compressed_size < entries[1].size);
    CHECK_FALSE(zip.find("xl/Workbook.xml"));  // names are exact: case-insensitive lookup is the caller's rule
    CHECK_FALSE(zip.contains("missing"));
  }
}

TEST_CASE("zip_reader: numpy's archives (zipfile's deflate, forced zip64, a comment) read like read_npz does") {
  for (const char* file : {"savez.npz", "savez_compressed.npz", "commented.npz", "zip64_everywhere.npz"}) {
    CAPTURE(file);
    const fs::path p = npy_fixtures / file;
    const zip_reader zip(p);  // owns the file's bytes
    CHECK(zip.origin() == p.string());
    const fergen::npz_archive expected = fergen::read_npz(p);
    REQUIRE(zip.size() == expected.size());
    for (const auto& e : zip.entries()) {
      CAPTURE(e.name);
      REQUIRE(e.name.ends_with(".npy"));
      const auto it = expected.find(e.name.substr(0, e.name.size() - 4));
      REQUIRE(it != expected.end());
      const fergen::npy_array a = fergen::parse_npy(zip.extract(e.name), e.name);
      CHECK(a.dtype == it->second.dtype);
      CHECK(a.shape == it->second.shape);
      CHECK(a.bytes == it->second.bytes);
    }
  }
}

TEST_CASE("zip_reader: owning constructors keep the bytes alive for copies") {
  std::optional<zip_reader> copy;
  {
    std::vector<std::byte> archive = zip_of(sample_members);
    const zip_reader owner(std::move(archive), "moved.zip");
    copy = owner;
  }
  CHECK(text_of(copy->extract("[Content_Types].xml")) == "<Types/>");
}

TEST_CASE("zip_reader: a missing member is an error listing what the archive holds") {
  const std::vector<std::byte> archive = zip_of(sample_members);
  const zip_reader zip(archive, "book.xlsx");
  CHECK(error_of([&] { (void)zip.extract("xl/sharedStrings.xml"); }) ==
        "book.xlsx: no member 'xl/sharedStrings.xml' (the archive holds '[Content_Types].xml', 'xl/workbook.xml', "
        "'xl/empty.bin', 'gr????e.txt')");

  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 25; ++i) {
    std::string name = "m";  // not "m" + to_string(i): GCC 12 warns falsely (-Wrestrict) on that operator+
    name += std::to_string(i);
    many.push_back({name, "x"});
  }
  const std::vector<std::byte> big = zip_of(many);
  const std::string message = error_of([&] { (void)zip_reader(big, "many.zip").extract("nope"); });
  CHECK_MESSAGE(contains(message, "'m19', ... (25 members)"), message);
  CHECK_MESSAGE(!contains(message, "'m20'"), message);

  const std::vector<std::byte> empty = zip_of({});
  CHECK(error_of([&] { (void)zip_reader(empty, "empty.zip").extract("a"); }) ==
        "empty.zip: no member 'a' (the archive holds no members)");
}

TEST_CASE("zip_reader: a name stored twice is ambiguous") {
  const std::vector<std::byte> archive = zip_of({{"a.xml", "first"}, {"a.xml", "second"}});
  const zip_reader zip(archive, "twice.zip");
  CHECK(zip.names().size() == 2);
  CHECK(error_of([&] { (void)zip.extract("a.xml"); }) ==
        "twice.zip: member 'a.xml': the archive holds a member of that name twice");
}

TEST_CASE("zip_reader: not a zip, and damaged data, are errors naming the archive and the member") {
  CHECK(contains(error_of([] { (void)zip_reader(bytes_of("plain text, no archive at all"), "notes.txt"); }),
                 "notes.txt: not a zip archive"));
  CHECK(contains(error_of([] { (void)zip_reader(std::vector<std::byte>{}, "nothing.zip"); }),
                 "nothing.zip: 0 bytes is too short"));
  const std::vector<std::pair<std::string, std::string>> one = {{"data.txt", std::string(200, 'd')}};
  for (const auto compression : {zip_compression::stored, zip_compression::deflate}) {
    std::vector<std::byte> archive = zip_of(one, compression);
    archive[30 + 8 + 3] ^= std::byte{0x20};  // a byte of member data (local header 30 + name 8)
    const std::string message = error_of([&] { (void)zip_reader(archive, "flipped.zip").extract("data.txt"); });
    CHECK_MESSAGE(contains(message, "flipped.zip: member 'data.txt': "), message);
    CHECK_MESSAGE((contains(message, "CRC-32") || contains(message, "deflate data")), message);
  }
}

TEST_CASE("zip_reader: unsupported methods and encryption are refused by name before any data is read") {
  std::vector<std::byte> archive = zip_of({{"a.txt", "aaaa"}}, zip_compression::stored);
  const std::size_t central = central_offset(archive);
  std::vector<std::byte> bzip2 = archive;
  put_u16(bzip2, central + 10, 12);
  CHECK(error_of([&] { (void)zip_reader(bzip2, "m.zip").extract("a.txt"); }) ==
        "m.zip: member 'a.txt': compression method 12 (bzip2) is not supported (fergen reads stored (0) and deflate (8))");
  std::vector<std::byte> encrypted = archive;
  put_u16(encrypted, central + 8, 1);
  const zip_reader zip(encrypted, "e.zip");
  CHECK(zip.entries().front().encrypted());
  CHECK(error_of([&] { (void)zip.extract("a.txt"); }) ==
        "e.zip: member 'a.txt': the member is encrypted; fergen reads unencrypted archives only");
}

TEST_CASE("zip_reader: every truncation of a valid archive throws fergen::error") {
  const std::vector<std::byte> archive = zip_of({{"a.xml", "<a>" + std::string(100, 'a') + "</a>"}, {"b", "bb"}});
  std::size_t thrown = 0;
  for (std::size_t n = 0; n < archive.size(); ++n) {
    const std::vector<std::byte> cut(archive.begin(), archive.begin() + static_cast<std::ptrdiff_t>(n));
    try {
      const zip_reader zip(cut, "cut.zip");
      for (const auto& e : zip.entries()) (void)zip.extract(e);
    } catch (const fergen::error&) {
      ++thrown;
    }
  }
  CHECK(thrown == archive.size());
}

TEST_CASE("zip_writer: detail::zip_builder, its name before it became public, still writes archives") {
  fergen::detail::zip_builder zip("alias.zip", fergen::npz_compression::stored);
  std::vector<std::byte> out = zip.add("x", bytes_of("y"));
  const auto tail = zip.finish();
  out.insert(out.end(), tail.begin(), tail.end());
  CHECK(text_of(zip_reader(out, "alias.zip").extract("x")) == "y");
}
