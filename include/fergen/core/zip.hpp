// fergen/core/zip.hpp: reading and writing zip archives, the container of .npz weight files and of .xlsx
// workbooks. Reads stored and deflate members of plain and zip64 archives (numpy forces zip64 local headers;
// spreadsheet programs write plain ones); writes plain archives that every unzip reads.
//
// The reader trusts no byte: every offset and size is checked against the archive before use, inflation
// stops at the size the central directory declares (a forged size costs nothing until the stream really
// delivers it), and every member is checked against its CRC-32. Every problem is a fergen::error naming the
// archive and the member.
#pragma once

#include <fergen/config.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/npy.hpp>  // little-endian loads/stores, excerpt, read_file, atomic_file

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE

enum class zip_compression { stored, deflate };

// One member as the archive's central directory describes it.
struct zip_entry {
  std::string name;                  // as stored: '/' separates folders
  unsigned flags = 0;                // general-purpose bit flags
  unsigned method = 0;               // 0 stored, 8 deflate; others are listed but not extracted
  std::uint32_t crc = 0;             // CRC-32 of the uncompressed data
  std::uint64_t compressed_size = 0;
  std::uint64_t size = 0;            // uncompressed
  std::uint64_t offset = 0;          // of the local header

  // Bit 0 (traditional encryption) or bit 6 (strong encryption).
  bool encrypted() const { return (flags & 0x0041) != 0; }
};

namespace detail {

inline constexpr std::uint32_t zip_local_signature = 0x04034b50;
inline constexpr std::uint32_t zip_central_signature = 0x02014b50;
inline constexpr std::uint32_t zip_end_signature = 0x06054b50;
inline constexpr std::uint32_t zip64_end_signature = 0x06064b50;
inline constexpr std::uint32_t zip64_locator_signature = 0x07064b50;
inline constexpr std::size_t zip_local_size = 30;
inline constexpr std::size_t zip_central_size = 46;
inline constexpr std::size_t zip_end_size = 22;
inline constexpr std::size_t zip64_end_size = 56;
inline constexpr std::size_t zip64_locator_size = 20;
inline constexpr std::size_t zip_max_comment = 0xFFFF;
// 0xFFFFFFFF in a 32-bit field means "see the zip64 extra field", so a plain zip stops one short of it.
inline constexpr std::uint64_t zip_max_plain = 0xFFFFFFFE;
inline constexpr std::uint64_t zip_max_members = 0xFFFF;
// zlib counts in uInt; feed it in pieces well under that so members past 4 GiB still work.
inline constexpr std::size_t zlib_chunk = std::size_t{1} << 30;

// True when [offset, offset + size) lies inside [0, limit).
inline bool fits(std::uint64_t offset, std::uint64_t size, std::uint64_t limit) {
  return offset <= limit && size <= limit - offset;
}

inline std::string_view method_name(unsigned method) {
  switch (method) {
    case 0:
      return "stored";
    case 1:
      return "shrink";
    case 6:
      return "implode";
    case 8:
      return "deflate";
    case 9:
      return "deflate64";
    case 12:
      return "bzip2";
    case 14:
      return "lzma";
    case 93:
      return "zstd";
    case 95:
      return "xz";
    case 99:
      return "AES encryption";
    default:
      return "unknown";
  }
}

inline std::uint32_t crc32_of(std::span<const std::byte> data) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  while (!data.empty()) {
    const std::size_t n = std::min(data.size(), zlib_chunk);
    crc = ::crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(n));
    data = data.subspan(n);
  }
  return static_cast<std::uint32_t>(crc);
}

// Raw deflate (no zlib header), exactly `expected` bytes out. The output grows with what inflate really
// produces, so a forged size costs nothing until the stream delivers it, and a stream that would go on
// past `expected` is an error rather than an overrun.
inline std::vector<std::byte> inflate_raw(std::span<const std::byte> in, std::uint64_t expected,
                                          std::string_view origin) {
  z_stream s{};
  require(::inflateInit2(&s, -MAX_WBITS) == Z_OK, origin, ": zlib inflateInit2 failed");
  struct guard {
    z_stream* s;
    ~guard() { ::inflateEnd(s); }
  } end_stream{&s};

  std::vector<std::byte> out;
  std::size_t produced = 0;
  std::size_t fed = 0;
  unsigned char probe = 0;
  for (;;) {
    if (s.avail_in == 0 && fed < in.size()) {
      const std::size_t n = std::min(in.size() - fed, zlib_chunk);
      s.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(in.data() + fed));
      s.avail_in = static_cast<uInt>(n);
      fed += n;
    }
    std::size_t offered = 0;
    if (produced < expected) {
      if (produced == out.size()) {
        const std::uint64_t grown = std::max<std::uint64_t>(std::uint64_t{1} << 16, std::uint64_t{2} * out.size());
        out.resize(static_cast<std::size_t>(std::min(expected, grown)));
      }
      offered = std::min(out.size() - produced, zlib_chunk);
      s.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
      s.avail_out = static_cast<uInt>(offered);
    } else {
      // All declared bytes are out; one more byte of room tells whether the stream really ends here.
      s.next_out = &probe;
      s.avail_out = 1;
    }
    const int rc = ::inflate(&s, Z_NO_FLUSH);
    if (produced < expected)
      produced += offered - s.avail_out;
    else
      require(s.avail_out == 1, origin, ": deflate data inflates to more than the declared ", expected, " bytes");
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR && s.avail_in == 0 && fed == in.size())
      fail(origin, ": deflate data ends after ", in.size(), " compressed bytes (", produced, " of ", expected,
           " bytes inflated) before the stream does");
    require(rc == Z_OK || rc == Z_BUF_ERROR, origin, ": deflate data is corrupt after ", produced,
            " inflated bytes: ", s.msg ? s.msg : "zlib error", " (zlib code ", rc, ")");
  }
  require(produced == expected, origin, ": deflate data inflates to ", produced, " bytes, the central directory says ",
          expected);
  out.resize(produced);
  return out;
}

inline std::vector<std::byte> deflate_raw(std::span<const std::byte> in, std::string_view origin) {
  z_stream s{};
  require(::deflateInit2(&s, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK, origin,
          ": zlib deflateInit2 failed");
  struct guard {
    z_stream* s;
    ~guard() { ::deflateEnd(s); }
  } end_stream{&s};

  std::vector<std::byte> out(std::min<std::size_t>(::deflateBound(&s, static_cast<uLong>(in.size())), zlib_chunk));
  std::size_t produced = 0;
  std::size_t fed = 0;
  for (;;) {
    if (s.avail_in == 0 && fed < in.size()) {
      const std::size_t n = std::min(in.size() - fed, zlib_chunk);
      s.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(in.data() + fed));
      s.avail_in = static_cast<uInt>(n);
      fed += n;
    }
    if (produced == out.size()) out.resize(out.size() + std::min(out.size() + 64, zlib_chunk));
    const std::size_t offered = std::min(out.size() - produced, zlib_chunk);
    s.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    s.avail_out = static_cast<uInt>(offered);
    const int rc = ::deflate(&s, fed == in.size() ? Z_FINISH : Z_NO_FLUSH);
    produced += offered - s.avail_out;
    if (rc == Z_STREAM_END) break;
    require(rc == Z_OK || rc == Z_BUF_ERROR, origin, ": zlib deflate failed (zlib code ", rc, ")");
  }
  out.resize(produced);
  return out;
}

struct zip_directory {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint64_t entries = 0;
};

// Locates the central directory through the end record (and the zip64 end record when present).
inline zip_directory find_zip_directory(std::span<const std::byte> bytes, std::string_view origin) {
  const std::size_t n = bytes.size();
  require(n >= zip_end_size, origin, ": ", n, " bytes is too short for a zip archive (an empty one has 22)");
  // The end record is followed only by its comment (at most 65535 bytes), so it starts within the last
  // 65557 bytes; the first candidate from the end whose comment length reaches exactly to the end wins.
  const std::size_t lowest = n - zip_end_size > zip_max_comment ? n - zip_end_size - zip_max_comment : 0;
  std::size_t end = n;
  for (std::size_t p = n - zip_end_size + 1; p-- > lowest;) {
    if (load_u32(bytes, p) == zip_end_signature && p + zip_end_size + load_u16(bytes, p + 20) == n) {
      end = p;
      break;
    }
  }
  require(end != n, origin, ": not a zip archive (no end-of-central-directory record in its last ",
          std::min(n, zip_end_size + zip_max_comment), " bytes)");

  std::uint64_t disk = load_u16(bytes, end + 4);
  std::uint64_t directory_disk = load_u16(bytes, end + 6);
  std::uint64_t disk_entries = load_u16(bytes, end + 8);
  zip_directory d;
  d.entries = load_u16(bytes, end + 10);
  d.size = load_u32(bytes, end + 12);
  d.offset = load_u32(bytes, end + 16);
  std::uint64_t directory_limit = end;  // the central directory ends before the record that describes it

  if (end >= zip64_locator_size && load_u32(bytes, end - zip64_locator_size) == zip64_locator_signature) {
    const std::size_t locator = end - zip64_locator_size;
    const std::uint64_t record = load_u64(bytes, locator + 8);
    require(load_u32(bytes, locator + 4) == 0 && load_u32(bytes, locator + 16) <= 1, origin,
            ": multi-disk zip archives are not supported");
    require(fits(record, zip64_end_size, locator), origin, ": the zip64 end record at offset ", record,
            " does not lie within the ", locator, " bytes before its locator");
    const auto r = static_cast<std::size_t>(record);
    require(load_u32(bytes, r) == zip64_end_signature, origin, ": no zip64 end record at offset ", record,
            " where the zip64 locator points");
    disk = load_u32(bytes, r + 16);
    directory_disk = load_u32(bytes, r + 20);
    disk_entries = load_u64(bytes, r + 24);
    d.entries = load_u64(bytes, r + 32);
    d.size = load_u64(bytes, r + 40);
    d.offset = load_u64(bytes, r + 48);
    directory_limit = record;
  }
  require(disk == 0 && directory_disk == 0 && disk_entries == d.entries, origin,
          ": multi-disk zip archives are not supported");
  require(fits(d.offset, d.size, directory_limit), origin, ": the central directory (offset ", d.offset, ", ", d.size,
          " bytes) does not lie within the ", directory_limit, " bytes before the end record");
  require(d.entries <= d.size / zip_central_size, origin, ": the end record counts ", d.entries,
          " members but a central directory of ", d.size, " bytes holds at most ", d.size / zip_central_size);
  return d;
}

// One central directory record starting at pos (advanced past it); everything read lies before limit.
inline zip_entry read_zip_entry(std::span<const std::byte> bytes, std::size_t& pos, std::size_t limit,
                                std::uint64_t index, std::string_view origin) {
  require(fits(pos, zip_central_size, limit) && load_u32(bytes, pos) == zip_central_signature, origin,
          ": central directory entry ", index, " at offset ", pos, " is missing or truncated");
  zip_entry e;
  e.flags = load_u16(bytes, pos + 8);
  e.method = load_u16(bytes, pos + 10);
  e.crc = load_u32(bytes, pos + 16);
  e.compressed_size = load_u32(bytes, pos + 20);
  e.size = load_u32(bytes, pos + 24);
  const std::size_t name_size = load_u16(bytes, pos + 28);
  const std::size_t extra_size = load_u16(bytes, pos + 30);
  const std::size_t comment_size = load_u16(bytes, pos + 32);
  std::uint64_t disk = load_u16(bytes, pos + 34);
  e.offset = load_u32(bytes, pos + 42);
  const std::size_t record_size = zip_central_size + name_size + extra_size + comment_size;
  require(fits(pos, record_size, limit), origin, ": central directory entry ", index, " at offset ", pos,
          " runs past the end of the central directory");
  e.name.assign(reinterpret_cast<const char*>(bytes.data() + pos + zip_central_size), name_size);
  const std::string shown = excerpt(e.name, 200);

  // Sizes and offsets that overflow 32 bits are 0xFFFFFFFF here and the real values sit, in this order and
  // only for the saturated fields, in the zip64 extra field (id 0x0001).
  const bool big_size = e.size == 0xFFFFFFFF, big_csize = e.compressed_size == 0xFFFFFFFF,
             big_offset = e.offset == 0xFFFFFFFF, big_disk = disk == 0xFFFF;
  bool zip64_seen = false;
  std::size_t x = pos + zip_central_size + name_size;
  const std::size_t extra_end = x + extra_size;
  while (extra_end - x >= 4) {
    const unsigned id = load_u16(bytes, x);
    const std::size_t size = load_u16(bytes, x + 2);
    require(size <= extra_end - x - 4, origin, ": member '", shown, "': extra field with id ", id, " of ", size,
            " bytes runs past its entry");
    if (id == 0x0001) {
      std::size_t q = x + 4;
      const std::size_t q_end = q + size;
      auto take = [&](std::uint64_t& field, std::size_t width) {
        require(q_end - q >= width, origin, ": member '", shown, "': zip64 extra field of ", size,
                " bytes is too short for the sizes it must hold");
        field = width == 8 ? load_u64(bytes, q) : load_u32(bytes, q);
        q += width;
      };
      if (big_size) take(e.size, 8);
      if (big_csize) take(e.compressed_size, 8);
      if (big_offset) take(e.offset, 8);
      if (big_disk) take(disk, 4);
      zip64_seen = true;
    }
    x += 4 + size;
  }
  require(zip64_seen || !(big_size || big_csize || big_offset || big_disk), origin, ": member '", shown,
          "': a size or offset is 0xFFFFFFFF but the entry has no zip64 extra field");
  require(disk == 0, origin, ": member '", shown, "' lies on disk ", disk, "; multi-disk archives are not supported");
  pos += record_size;
  return e;
}

// The uncompressed bytes of one member, checked against its CRC-32 and declared size.
inline std::vector<std::byte> read_zip_member(std::span<const std::byte> bytes, const zip_entry& e,
                                              std::uint64_t data_limit, std::string_view where) {
  require(fits(e.offset, zip_local_size, data_limit), where, ": local header offset ", e.offset, " lies outside the ",
          data_limit, " bytes before the central directory");
  const auto at = static_cast<std::size_t>(e.offset);
  require(load_u32(bytes, at) == zip_local_signature, where, ": no local header at offset ", e.offset);
  // The local header's own sizes may be zero (data descriptor) or 0xFFFFFFFF (numpy's forced zip64):
  // only its name and extra lengths matter, to find where the data starts.
  const std::size_t name_size = load_u16(bytes, at + 26);
  const std::size_t extra_size = load_u16(bytes, at + 28);
  require(fits(at + zip_local_size, name_size + extra_size, data_limit), where, ": local header at offset ", e.offset,
          " runs into the central directory");
  const std::string_view local_name(reinterpret_cast<const char*>(bytes.data() + at + zip_local_size), name_size);
  require(local_name == e.name, where, ": the local header names it '", excerpt(local_name, 80), "'");
  const std::uint64_t data_start = at + zip_local_size + name_size + extra_size;
  require(fits(data_start, e.compressed_size, data_limit), where, ": ", e.compressed_size, " bytes of data at offset ",
          data_start, " run past the ", data_limit, " bytes before the central directory");
  const auto data = bytes.subspan(static_cast<std::size_t>(data_start), static_cast<std::size_t>(e.compressed_size));

  std::vector<std::byte> out;
  if (e.method == 0) {
    require(e.compressed_size == e.size, where, ": stored member has ", e.compressed_size,
            " bytes of data but declares ", e.size, " uncompressed");
    out.assign(data.begin(), data.end());
  } else {
    out = inflate_raw(data, e.size, where);
  }
  const std::uint32_t crc = crc32_of(out);
  if (crc != e.crc)
    fail(where, ": CRC-32 of the data is ", std::hex, "0x", crc, ", the central directory says 0x", e.crc,
         " (the archive is corrupt)");
  return out;
}

}  // namespace detail

// Builds a plain (non-zip64) zip archive member by member, so that a caller can stream the pieces to a
// file instead of holding the whole archive: add() returns each member's local header and data, to be
// written in order, and finish() the central directory that ends the archive. Names are taken as given
// (format-specific naming rules belong to the caller); origin names the archive in messages.
class zip_writer {
 public:
  zip_writer(std::string origin, zip_compression compression)
      : origin_(std::move(origin)), compression_(compression) {}

  // The local header and data of one member, to be written right after the previous member's.
  std::vector<std::byte> add(std::string_view name, std::span<const std::byte> data) {
    const std::string where = str(origin_, ": member '", name, "'");
    require(members_ < detail::zip_max_members, origin_, ": more than ", detail::zip_max_members,
            " members do not fit a plain zip archive");
    require(name.size() <= 0xFFFF, where, ": the name is ", name.size(), " bytes, a zip name holds at most 65535");
    require(data.size() <= detail::zip_max_plain, where, ": ", data.size(),
            " bytes is more than a plain zip member holds (4 GiB - 2)");
    const std::uint32_t crc = detail::crc32_of(data);
    std::vector<std::byte> compressed;
    const bool deflate = compression_ == zip_compression::deflate;
    if (deflate) {
      compressed = detail::deflate_raw(data, where);
      require(compressed.size() <= detail::zip_max_plain, where, ": ", compressed.size(),
              " compressed bytes is more than a plain zip member holds (4 GiB - 2)");
    }
    const std::span<const std::byte> payload = deflate ? std::span<const std::byte>(compressed) : data;
    const std::uint64_t local_size = detail::zip_local_size + name.size() + payload.size();
    require(detail::fits(offset_, local_size, detail::zip_max_plain), origin_,
            ": the archive would exceed 4 GiB - 2 bytes at member '", name, "'; fergen writes plain zip archives only");

    // UTF-8 names get the language-encoding flag so unzip tools do not read them as code page 437.
    const bool utf8 =
        std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    const std::uint16_t flags = utf8 ? 0x0800 : 0;
    const std::uint16_t method = deflate ? 8 : 0;
    const auto size = static_cast<std::uint32_t>(data.size());
    const auto csize = static_cast<std::uint32_t>(payload.size());

    std::vector<std::byte> local;
    local.reserve(static_cast<std::size_t>(local_size));
    detail::store_u32(local, detail::zip_local_signature);
    detail::store_u16(local, 20);  // version needed: 2.0 (deflate)
    detail::store_u16(local, flags);
    detail::store_u16(local, method);
    detail::store_u16(local, 0);       // time 00:00:00 and
    detail::store_u16(local, 0x0021);  // date 1980-01-01: fixed, so the same arrays give the same bytes
    detail::store_u32(local, crc);
    detail::store_u32(local, csize);
    detail::store_u32(local, size);
    detail::store_u16(local, static_cast<std::uint16_t>(name.size()));
    detail::store_u16(local, 0);
    detail::store_text(local, name);
    local.insert(local.end(), payload.begin(), payload.end());

    detail::store_u32(central_, detail::zip_central_signature);
    detail::store_u16(central_, 3 << 8 | 20);  // made by: Unix, 2.0, so the permission bits below are honoured
    detail::store_u16(central_, 20);
    detail::store_u16(central_, flags);
    detail::store_u16(central_, method);
    detail::store_u16(central_, 0);
    detail::store_u16(central_, 0x0021);
    detail::store_u32(central_, crc);
    detail::store_u32(central_, csize);
    detail::store_u32(central_, size);
    detail::store_u16(central_, static_cast<std::uint16_t>(name.size()));
    detail::store_u16(central_, 0);               // extra
    detail::store_u16(central_, 0);               // comment
    detail::store_u16(central_, 0);               // disk
    detail::store_u16(central_, 0);               // internal attributes
    detail::store_u32(central_, 0100644u << 16);  // regular file, rw-r--r--
    detail::store_u32(central_, static_cast<std::uint32_t>(offset_));
    detail::store_text(central_, name);

    offset_ += local_size;
    ++members_;
    return local;
  }

  // The central directory and end record, to be written after the last member.
  std::vector<std::byte> finish() const {
    require(detail::fits(offset_, central_.size() + detail::zip_end_size, detail::zip_max_plain), origin_,
            ": the archive would exceed 4 GiB - 2 bytes; fergen writes plain zip archives only");
    std::vector<std::byte> tail = central_;
    detail::store_u32(tail, detail::zip_end_signature);
    detail::store_u16(tail, 0);
    detail::store_u16(tail, 0);
    detail::store_u16(tail, static_cast<std::uint16_t>(members_));
    detail::store_u16(tail, static_cast<std::uint16_t>(members_));
    detail::store_u32(tail, static_cast<std::uint32_t>(central_.size()));
    detail::store_u32(tail, static_cast<std::uint32_t>(offset_));
    detail::store_u16(tail, 0);
    return tail;
  }

 private:
  std::string origin_;
  zip_compression compression_;
  std::vector<std::byte> central_;
  std::uint64_t offset_ = 0;
  std::uint64_t members_ = 0;
};

// A zip archive opened for reading. The constructor finds the central directory (so "not a zip archive"
// comes at once); members are then listed and extracted on demand. The central directory is read again on
// every walk rather than cached: a caller that walks it with for_each sees the members one at a time, so
// a damaged record late in the directory does not hide the problems of the members before it (the order in
// which parse_npz reports them).
//
// Constructed from a span, the reader views the bytes and the caller keeps them alive; constructed from a
// path or a vector it is given, it owns them. Copies share the bytes.
class zip_reader {
 public:
  zip_reader(std::span<const std::byte> bytes, std::string origin)
      : bytes_(bytes), origin_(std::move(origin)), directory_(detail::find_zip_directory(bytes_, origin_)) {}

  // Takes the bytes over (an archive already in memory as a temporary).
  zip_reader(std::vector<std::byte>&& bytes, std::string origin)
      : zip_reader(std::make_shared<const std::vector<std::byte>>(std::move(bytes)), std::move(origin)) {}

  // Reads the whole file: the reader needs random access and bounds checks against the true size.
  explicit zip_reader(const std::filesystem::path& file)
      : zip_reader(std::make_shared<const std::vector<std::byte>>(detail::read_file(file)), file.string()) {}

  // Names the archive in messages.
  const std::string& origin() const { return origin_; }

  // The number of members the central directory declares.
  std::uint64_t size() const { return directory_.entries; }

  // Calls f(const zip_entry&) for each member in central-directory order.
  template <class F>
  void for_each(F&& f) const {
    auto pos = static_cast<std::size_t>(directory_.offset);
    const auto limit = static_cast<std::size_t>(directory_.offset + directory_.size);
    for (std::uint64_t i = 0; i < directory_.entries; ++i) f(detail::read_zip_entry(bytes_, pos, limit, i, origin_));
  }

  std::vector<zip_entry> entries() const {
    std::vector<zip_entry> out;
    for_each([&](const zip_entry& e) { out.push_back(e); });
    return out;
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for_each([&](const zip_entry& e) { out.push_back(e.name); });
    return out;
  }

  // The member of that exact name, or nothing. A name stored twice is an error: tools disagree on which
  // copy counts, so an archive that has two is ambiguous, not merely odd.
  std::optional<zip_entry> find(std::string_view name) const {
    std::optional<zip_entry> found;
    for_each([&](const zip_entry& e) {
      if (e.name != name) return;
      require(!found, member_origin(e), ": the archive holds a member of that name twice");
      found = e;
    });
    return found;
  }

  bool contains(std::string_view name) const { return find(name).has_value(); }

  // The uncompressed bytes of a member of this archive, CRC-checked. shown names it in messages (default
  // "<origin>: member '<name>'").
  std::vector<std::byte> extract(const zip_entry& e, std::string_view shown = {}) const {
    const std::string named = shown.empty() ? member_origin(e) : std::string(shown);
    require(!e.encrypted(), named, ": the member is encrypted; fergen reads unencrypted archives only");
    require(e.method == 0 || e.method == 8, named, ": compression method ", e.method, " (",
            detail::method_name(e.method), ") is not supported (fergen reads stored (0) and deflate (8))");
    return detail::read_zip_member(bytes_, e, directory_.offset, named);
  }

  // The member of that exact name; its absence is an error listing what the archive holds.
  std::vector<std::byte> extract(std::string_view name) const {
    const std::optional<zip_entry> e = find(name);
    if (!e) fail(origin_, ": no member '", detail::excerpt(name, 200), "' (the archive holds ", listing(), ")");
    return extract(*e);
  }

 private:
  zip_reader(std::shared_ptr<const std::vector<std::byte>> owned, std::string origin)
      : zip_reader(std::span<const std::byte>(*owned), std::move(origin)) {
    owned_ = std::move(owned);
  }

  std::string member_origin(const zip_entry& e) const {
    return str(origin_, ": member '", detail::excerpt(e.name, 200), "'");
  }

  // At most 20 names: a message, not a dump.
  std::string listing() const {
    std::string s;
    std::uint64_t n = 0;
    for_each([&](const zip_entry& e) {
      if (n++ < 20) s += (s.empty() ? "'" : ", '") + detail::excerpt(e.name, 80) + "'";
    });
    if (n == 0) return "no members";
    if (n > 20) s += str(", ... (", n, " members)");
    return s;
  }

  std::shared_ptr<const std::vector<std::byte>> owned_;  // empty when viewing the caller's bytes
  std::span<const std::byte> bytes_;
  std::string origin_;
  detail::zip_directory directory_;
};

namespace detail {
// The writer's name before it became public; kept so existing callers compile.
using zip_builder = zip_writer;
}  // namespace detail

FERGEN_END_NAMESPACE
