// fergen/core/npz.hpp: numpy's .npz archives (a zip of .npy members), the file format of whole weight sets
// and reference outputs. Reads what np.savez / np.savez_compressed write (zip64 included: numpy forces zip64
// local headers), writes a plain zip that numpy and every unzip read. The zip layer (core/zip.hpp) trusts
// no byte; this file adds npz's rules: members are <key>.npy, each key once, each member a valid .npy.
#pragma once

#include <fergen/config.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/npy.hpp>
#include <fergen/core/zip.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE

// Keys are member names without ".npy", as np.load(...).files lists them.
using npz_archive = std::map<std::string, npy_array>;

// The compression of the archives write_npz produces (np.savez writes stored, np.savez_compressed deflate).
using npz_compression = zip_compression;

namespace detail {

// serialize_npy's message, prefixed with the archive and member it was meant for.
inline std::vector<std::byte> serialize_member(const npy_array& array, std::string_view origin, std::string_view key) {
  try {
    return serialize_npy(array);
  } catch (const error& e) {
    fail(origin, ": member '", key, ".npy': ", e.what());
  }
}

}  // namespace detail

// Parses a whole .npz archive held in memory. origin names it in messages. Members are checked and parsed
// one at a time in directory order, so the first damaged member is the one reported.
inline npz_archive parse_npz(std::span<const std::byte> bytes, std::string_view origin) {
  const zip_reader zip(bytes, std::string(origin));
  npz_archive out;
  zip.for_each([&](const zip_entry& e) {
    const std::string where = str(origin, ": member '", detail::excerpt(e.name, 200), "'");
    require(e.name.ends_with(".npy"), where, ": not an .npy file (npz members are named <key>.npy)");
    std::string key = e.name.substr(0, e.name.size() - 4);
    require(!out.contains(key), where, ": the archive holds a member of that name twice");
    const std::vector<std::byte> member = zip.extract(e, where);
    out.emplace(std::move(key), parse_npy(member, where));
  });
  return out;
}

inline npz_archive read_npz(const std::filesystem::path& path) {
  return parse_npz(detail::read_file(path), path.string());
}

// The archive as bytes, members in key order (the map's), each "<key>.npy".
inline std::vector<std::byte> serialize_npz(const npz_archive& archive,
                                            npz_compression compression = npz_compression::deflate) {
  require(archive.size() <= detail::zip_max_members, "serialize_npz: ", archive.size(),
          " arrays do not fit a plain zip archive (at most ", detail::zip_max_members, " members)");
  zip_writer zip("serialize_npz", compression);
  std::vector<std::byte> out;
  for (const auto& [key, array] : archive) {
    const std::vector<std::byte> member = zip.add(key + ".npy", detail::serialize_member(array, "serialize_npz", key));
    out.insert(out.end(), member.begin(), member.end());
  }
  const std::vector<std::byte> tail = zip.finish();
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

// Atomic like write_npy; members are serialized and written one at a time, so the archive is never held
// in memory whole.
inline void write_npz(const std::filesystem::path& path, const npz_archive& archive,
                      npz_compression compression = npz_compression::deflate) {
  require(archive.size() <= detail::zip_max_members, path.string(), ": ", archive.size(),
          " arrays do not fit a plain zip archive (at most ", detail::zip_max_members, " members)");
  zip_writer zip(path.string(), compression);
  detail::atomic_file file(path);
  for (const auto& [key, array] : archive) {
    file.write(zip.add(key + ".npy", detail::serialize_member(array, path.string(), key)));
  }
  file.write(zip.finish());
  file.commit();
}

FERGEN_END_NAMESPACE
