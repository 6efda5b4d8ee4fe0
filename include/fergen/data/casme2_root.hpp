// fergen/data/casme2_root.hpp: where a CASME II copy keeps its frames. Users give the dataset's root as it
// was downloaded and unpacked (ROOT/Cropped, ROOT/CASME2_RAW_selected, the coding sheet beside them; `fergen
// dataset --procedural --write ROOT` lays out the same), or the frames folder itself (ROOT/sub01/...).
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/casme2_sheet.hpp>

#include <array>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace data {

// The frames folders of a CASME II root, preferred first: Cropped holds the study's faces (280 x 340, cut
// and aligned), CASME2_RAW_selected the whole 640 x 480 camera frames.
inline constexpr std::array<std::string_view, 2> casme2_frames_folders{"Cropped", "CASME2_RAW_selected"};

struct casme2_frames_location {
  std::filesystem::path folder;  // the folder that holds sub01, sub02, ...
  std::string note;              // how it was found, for users: "ROOT/Cropped (also there: ...)"
};

namespace detail {

// Does dir hold a subject folder (sub01, Sub1, ...)? Unreadable entries count as not.
inline bool casme2_holds_subjects(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return false;
  for (const std::filesystem::directory_iterator end; it != end; it.increment(ec)) {
    std::error_code type_ec;
    const std::string name = it->path().filename().string();
    if (it->is_directory(type_ec) && name.size() > 3 && casme2_lowered(name.substr(0, 3)) == "sub" &&
        casme2_subject(name))
      return true;
  }
  return false;
}

}  // namespace detail

// The folder of root that holds the subjects: root itself when it does, else the first of
// casme2_frames_folders inside it that does. Anything else is an error listing every place it looked.
inline casme2_frames_location find_casme2_frames(const std::filesystem::path& root) {
  std::error_code ec;
  require(std::filesystem::is_directory(root, ec), "load_casme2: root ", root.string(), " is not a folder",
          ec ? ": " + ec.message() : std::string());
  if (detail::casme2_holds_subjects(root)) return {root, root.string()};
  std::vector<std::filesystem::path> found;
  for (const std::string_view name : casme2_frames_folders)
    if (detail::casme2_holds_subjects(root / name)) found.push_back(root / name);
  if (found.empty()) {
    std::string looked = "subject folders (sub01, sub02, ...) in " + root.string();
    for (const std::string_view name : casme2_frames_folders) looked += ", in " + (root / name).string();
    fail("CASME II root ", root.string(), ": no frames found; looked for ", looked);
  }
  std::string note = found.front().string();
  if (found.size() > 1) note += " (" + found[1].filename().string() + " is there too; the study used Cropped)";
  return {found.front(), note};
}

}  // namespace data
FERGEN_END_NAMESPACE
