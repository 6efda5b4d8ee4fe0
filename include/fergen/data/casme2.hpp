// fergen/data/casme2.hpp: loading CASME II frames from its folder tree into a labelled dataset, the real
// data of the reproduced study (every frame from onset to offset of 255 clips, resized to 48 x 48, gray).
//
// The tree is FRAMES/sub01/EP02_01f/img46.jpg (CASME2_RAW_selected, "raw") or
// FRAMES/sub01/EP02_01f/reg_img46.jpg (Cropped, "cropped"), FRAMES being the root given or the Cropped or
// CASME2_RAW_selected folder in it (casme2_root.hpp). Frame numbers are not zero-padded, so the clip folder is
// listed and its numbers parsed and sorted numerically, never by name (img100 sorts before img46 as text).
// Every problem (a clip folder missing, a frame missing between onset and offset, an image that does not
// decode) is an error naming the file and the sheet row, or, with error_policy::skip_and_report, left out and
// counted in the report, which also lists every quirk that was resolved on the way.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/npy.hpp>
#include <fergen/data/casme2_root.hpp>
#include <fergen/data/casme2_sheet.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/error_policy.hpp>
#include <fergen/data/image.hpp>
#include <fergen/data/image_io.hpp>
#include <fergen/data/resize.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace data {

// automatic: decided by the first clip folder that holds frames (img*.jpg or reg_img*.jpg, not both).
enum class casme2_layout { automatic, raw, cropped };

// onset_to_offset: every frame from onset to offset inclusive (the study). apex_only: the apex frame, or
// the middle frame when the sheet gives no apex (reported).
enum class casme2_frames { onset_to_offset, apex_only };

struct casme2_options {
  std::filesystem::path root;   // the dataset's root (holding Cropped or CASME2_RAW_selected) or the frames folder
                                // itself (holding sub01, sub02, ...): data/casme2_root.hpp
  std::filesystem::path sheet;  // the coding sheet, .xlsx or .csv
  casme2_layout layout = casme2_layout::automatic;
  casme2_frames frames = casme2_frames::onset_to_offset;
  casme2_labels labels = casme2_labels::study7;
  std::int64_t height = 48;  // each frame is resized to height x width (antialiased bilinear);
  std::int64_t width = 48;   // 0 x 0 keeps the size of the files
  bool grayscale = true;     // BT.601 luma, 1 channel; false gives 3 (RGB)
  error_policy on_error = error_policy::fail;
};

// What a load did. Every list entry names the row, clip or file it is about.
struct casme2_report {
  std::string sheet;
  std::string frames_folder;  // where the frames were read, and why there (find_casme2_frames)
  std::string layout;  // "raw" or "cropped"; empty when no clip was found
  casme2_labels labels = casme2_labels::study7;
  casme2_frames frames = casme2_frames::onset_to_offset;
  std::vector<std::string> class_names;
  std::vector<std::int64_t> frames_per_class;  // loaded, in label order
  std::vector<std::int64_t> clips_per_class;   // with at least one frame loaded
  std::int64_t sheet_rows = 0;                 // clips the sheet lists (after its own skips)
  std::map<std::string, std::int64_t> dropped_by_label_set;  // emotion -> clips the label set leaves out
  std::vector<std::string> sheet_warnings;  // from read_casme2_sheet
  std::vector<std::string> resolved;        // quirks resolved: folder near-matches, middle frames used
  std::vector<std::string> skipped_rows;    // rows left out entirely (clip folder missing or ambiguous)
  std::vector<std::string> skipped_frames;  // frames left out (missing, undecodable, not an image)
  std::int64_t missing_frames = 0;          // frames in onset..offset with no file
  std::int64_t unreadable_frames = 0;       // frames whose file is not a decodable image
  std::vector<std::string> ignored_files;   // files in clip folders that are not frames of the layout

  std::int64_t frames_loaded() const {
    std::int64_t n = 0;
    for (const auto f : frames_per_class) n += f;
    return n;
  }

  // A plain-text account: counts per class first, then every list.
  std::string text() const {
    std::ostringstream out;
    std::int64_t clips = 0;
    for (const auto c : clips_per_class) clips += c;
    out << "CASME II frames from " << frames_folder << "\n";
    out << "CASME II from " << sheet << ": " << frames_loaded() << " frames of " << clips << " clips (layout "
        << (layout.empty() ? "unknown" : layout) << ", labels " << to_string(labels) << ", "
        << (frames == casme2_frames::apex_only ? "apex frame only" : "onset to offset") << ")\n";
    for (std::size_t i = 0; i < class_names.size(); ++i)
      out << "  " << class_names[i] << ": " << frames_per_class[i] << " frames, " << clips_per_class[i] << " clips\n";
    if (!dropped_by_label_set.empty()) {
      out << "dropped by the label set " << to_string(labels) << ":";
      for (const auto& [emotion, n] : dropped_by_label_set) out << " " << emotion << " " << n << " clips;";
      out << "\n";
    }
    if (missing_frames + unreadable_frames > 0)
      out << "frames skipped: " << missing_frames << " missing, " << unreadable_frames << " unreadable\n";
    auto list = [&](std::string_view title, const std::vector<std::string>& items) {
      if (items.empty()) return;
      out << title << " (" << items.size() << "):\n";
      for (const auto& item : items) out << "  " << item << "\n";
    };
    list("sheet warnings", sheet_warnings);
    list("resolved", resolved);
    list("skipped rows", skipped_rows);
    list("skipped frames", skipped_frames);
    list("ignored files", ignored_files);
    return out.str();
  }
};

namespace detail {

inline bool casme2_image_extension(std::string_view lowered_extension) {
  return lowered_extension == ".jpg" || lowered_extension == ".jpeg" || lowered_extension == ".png" ||
         lowered_extension == ".bmp";
}

// The folders directly inside dir (name -> path), following links as ls does. Unreadable folders are
// errors naming them: a half-listed tree would silently lose clips.
inline std::vector<std::filesystem::path> casme2_list(const std::filesystem::path& dir, bool folders) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) fail(dir.string(), ": cannot list the folder: ", ec.message());
  for (const std::filesystem::directory_iterator end; it != end; it.increment(ec)) {
    std::error_code type_ec;
    const bool is_dir = it->is_directory(type_ec);
    if (folders ? is_dir : (!is_dir && it->is_regular_file(type_ec))) out.push_back(it->path());
  }
  if (ec) fail(dir.string(), ": listing the folder failed: ", ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

// The frames of one clip folder for one layout: frame number -> file, and the files that carry a frame
// number but are not images (img47.txt).
struct casme2_clip_files {
  std::map<std::int64_t, std::filesystem::path> images;
  std::map<std::int64_t, std::filesystem::path> non_images;
  std::vector<std::filesystem::path> duplicates;  // a second image with a number already seen
  std::vector<std::filesystem::path> others;      // no frame number of this layout
};

// "img46.jpg" with prefix "img" -> 46. Case-insensitive; digits only between prefix and extension.
inline std::optional<std::int64_t> casme2_frame_number(std::string_view lowered_stem, std::string_view prefix) {
  if (!lowered_stem.starts_with(prefix)) return std::nullopt;
  const std::string_view digits = lowered_stem.substr(prefix.size());
  if (digits.empty() || digits.size() > 9) return std::nullopt;
  std::int64_t n = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

inline casme2_clip_files casme2_scan(const std::vector<std::filesystem::path>& files, std::string_view prefix) {
  casme2_clip_files out;
  for (const auto& f : files) {
    const std::string stem = casme2_lowered(f.stem().string());
    const std::optional<std::int64_t> n = casme2_frame_number(stem, prefix);
    if (!n) {
      out.others.push_back(f);
      continue;
    }
    if (casme2_image_extension(casme2_lowered(f.extension().string()))) {
      if (!out.images.emplace(*n, f).second) out.duplicates.push_back(f);
    } else {
      out.non_images.emplace(*n, f);
    }
  }
  return out;
}

inline std::size_t casme2_count_frames(const std::vector<std::filesystem::path>& files, std::string_view prefix) {
  std::size_t n = 0;
  for (const auto& f : files)
    if (casme2_frame_number(casme2_lowered(f.stem().string()), prefix) &&
        casme2_image_extension(casme2_lowered(f.extension().string())))
      ++n;
  return n;
}

// "ep01_12" and "ep01_12f" name the same clip: one is the other plus a suffix of letters. Sheet and tree
// disagree like this in published copies of CASME II.
inline bool casme2_near_match(std::string_view a, std::string_view b) {
  if (a.size() > b.size()) std::swap(a, b);
  if (!b.starts_with(a) || a.empty()) return false;
  const std::string_view suffix = b.substr(a.size());
  return std::all_of(suffix.begin(), suffix.end(), [](char c) { return c >= 'a' && c <= 'z'; }) &&
         a.back() >= '0' && a.back() <= '9';
}

// Finds name among folders: exactly, then ignoring case, then as a near match. Returns the folder, or an
// explanation in *why when there is none or more than one.
inline std::optional<std::filesystem::path> casme2_resolve(const std::vector<std::filesystem::path>& folders,
                                                           std::string_view name, std::string* why) {
  for (const auto& f : folders)
    if (f.filename().string() == name) return f;
  const std::string key = casme2_lowered(name);
  std::vector<std::filesystem::path> candidates;
  for (const auto& f : folders)
    if (casme2_lowered(f.filename().string()) == key) candidates.push_back(f);
  if (candidates.empty())
    for (const auto& f : folders)
      if (casme2_near_match(casme2_lowered(f.filename().string()), key)) candidates.push_back(f);
  if (candidates.size() == 1) return candidates.front();
  if (candidates.empty()) {
    *why = "no such folder";
  } else {
    *why = "ambiguous: it could be any of";
    for (const auto& c : candidates) *why += " " + c.filename().string();
  }
  return std::nullopt;
}

// The folder of a subject: its name read as a subject ("sub01", "Sub01", "sub1") equals subject.
inline std::optional<std::filesystem::path> casme2_subject_folder(const std::vector<std::filesystem::path>& folders,
                                                                  std::string_view subject, std::string* why) {
  std::vector<std::filesystem::path> candidates;
  for (const auto& f : folders) {
    const std::string name = f.filename().string();
    if (name.size() > 3 && casme2_lowered(name.substr(0, 3)) == "sub" && casme2_subject(name) == subject)
      candidates.push_back(f);
  }
  if (candidates.size() == 1) return candidates.front();
  if (candidates.empty()) {
    *why = "no such folder";
  } else {
    *why = "ambiguous: it could be any of";
    for (const auto& c : candidates) *why += " " + c.filename().string();
  }
  return std::nullopt;
}

}  // namespace detail

// Loads the frames the sheet lists. Samples are in sheet order, frames in numeric order within a clip;
// each has subject "sub01", clip "sub01/EP02_01f" (the folder's own name), its frame number, its file as
// source and its label under options.labels. When report is given it receives the account of the load.
inline dataset load_casme2(const casme2_options& options, casme2_report* report = nullptr) {
  const bool resize = options.height != 0 || options.width != 0;
  require(!resize || (options.height > 0 && options.width > 0), "load_casme2: size ", options.height, " x ",
          options.width, " must be positive, or 0 x 0 to keep the size of the files");
  const casme2_frames_location location = find_casme2_frames(options.root);
  const casme2_sheet sheet = read_casme2_sheet(options.sheet, options.on_error);
  const bool skip = options.on_error == error_policy::skip_and_report;

  casme2_report r;
  r.sheet = options.sheet.string();
  r.frames_folder = location.note;
  r.labels = options.labels;
  r.frames = options.frames;
  r.class_names = casme2_class_names(options.labels);
  r.frames_per_class.assign(r.class_names.size(), 0);
  r.clips_per_class.assign(r.class_names.size(), 0);
  r.sheet_rows = static_cast<std::int64_t>(sheet.clips.size());
  r.sheet_warnings = sheet.warnings;
  if (options.layout == casme2_layout::raw) r.layout = "raw";
  if (options.layout == casme2_layout::cropped) r.layout = "cropped";

  dataset out(r.class_names);
  const std::vector<std::filesystem::path> subjects = detail::casme2_list(location.folder, true);
  std::map<std::string, std::vector<std::filesystem::path>> clip_folders;  // subject folder -> its clips

  for (const casme2_clip& clip : sheet.clips) {
    const std::int64_t label = casme2_class_of(clip.emotion, options.labels);
    if (label < 0) {
      ++r.dropped_by_label_set[clip.emotion];
      continue;
    }
    const std::string row = str(sheet.origin, ": row ", clip.row);
    auto skip_row = [&](const auto&... parts) {
      if (!skip) fail(row, ": ", parts...);
      r.skipped_rows.push_back(str(row, ": ", parts..., "; row skipped"));
    };

    std::string why;
    const std::optional<std::filesystem::path> subject_dir =
        detail::casme2_subject_folder(subjects, clip.subject, &why);
    if (!subject_dir) {
      skip_row("subject ", clip.subject, ": ", why, " in ", location.folder.string());
      continue;
    }
    auto [folders, fresh] = clip_folders.try_emplace(subject_dir->string());
    if (fresh) folders->second = detail::casme2_list(*subject_dir, true);
    const std::optional<std::filesystem::path> clip_dir = detail::casme2_resolve(folders->second, clip.filename, &why);
    if (!clip_dir) {
      skip_row("clip folder ", (*subject_dir / clip.filename).string(), ": ", why);
      continue;
    }
    const std::string folder_name = clip_dir->filename().string();
    if (folder_name != clip.filename)
      r.resolved.push_back(str(row, ": Filename '", clip.filename, "' is the folder ", clip_dir->string()));
    if (subject_dir->filename().string() != clip.subject)
      r.resolved.push_back(str(row, ": subject ", clip.subject, " is the folder ", subject_dir->string()));

    const std::vector<std::filesystem::path> files = detail::casme2_list(*clip_dir, false);
    if (r.layout.empty()) {
      const std::size_t raw = detail::casme2_count_frames(files, "img");
      const std::size_t cropped = detail::casme2_count_frames(files, "reg_img");
      if (raw > 0 && cropped > 0)
        fail(clip_dir->string(), ": holds both raw (img*) and cropped (reg_img*) frames; choose the layout");
      if (raw > 0) r.layout = "raw";
      if (cropped > 0) r.layout = "cropped";
      if (!r.layout.empty())
        r.resolved.push_back(str("layout detected from ", clip_dir->string(), ": ", r.layout));
    }
    const std::string_view prefix = r.layout == "cropped" ? "reg_img" : "img";
    const detail::casme2_clip_files found = detail::casme2_scan(files, prefix);
    for (const auto& f : found.others) r.ignored_files.push_back(str(f.string(), ": not a frame of the ",
                                                                     r.layout.empty() ? "raw or cropped" : r.layout,
                                                                     " layout (", prefix, "<number>.jpg)"));

    std::vector<std::int64_t> wanted;
    if (options.frames == casme2_frames::apex_only) {
      wanted.push_back(clip.apex_or_middle());
      if (clip.apex < 0)
        r.resolved.push_back(str(row, ": no ApexFrame; apex-only selection took the middle frame ", wanted.back(),
                                 " of ", clip.onset, "..", clip.offset));
    }

    // Frames missing between onset and offset, reported as ranges: a whole missing clip is one line.
    auto report_missing = [&](std::int64_t from, std::int64_t to) {
      const std::int64_t n = to - from + 1;
      const std::string frames = from == to ? str("frame ", from) : str("frames ", from, "..", to);
      const std::string message = str(row, ": ", clip_dir->string(), ": ", frames, " (", prefix, from, ".jpg",
                                      from == to ? "" : "...", ") missing, between onset ", clip.onset,
                                      " and offset ", clip.offset);
      if (!skip) fail(message);
      r.missing_frames += n;
      r.skipped_frames.push_back(message + "; skipped");
    };

    std::int64_t loaded = 0;
    auto load_frame = [&](std::int64_t frame, const std::filesystem::path& file) {
      image img;
      try {
        img = load_image(file, options.grayscale ? color_mode::gray : color_mode::rgb);
      } catch (const error& e) {
        if (!skip) fail(row, ": frame ", frame, ": ", e.what());
        ++r.unreadable_frames;
        r.skipped_frames.push_back(str(row, ": frame ", frame, ": ", e.what(), "; skipped"));
        return;
      }
      if (resize) img = resize_bilinear(img, options.height, options.width, true);
      sample s;
      s.image = std::move(img);
      s.label = label;
      s.subject = clip.subject;
      s.clip = clip.subject + "/" + folder_name;
      s.frame = frame;
      s.source = file.string();
      out.add(std::move(s));
      ++loaded;
    };
    std::vector<std::int64_t> reported_non_images;
    auto not_an_image = [&](std::int64_t frame, const std::filesystem::path& file) {
      reported_non_images.push_back(frame);
      const std::string message = str(row, ": frame ", frame, ": ", file.string(), " is not an image file (",
                                      prefix, frame, ".jpg expected)");
      if (!skip) fail(message);
      ++r.unreadable_frames;
      r.skipped_frames.push_back(message + "; skipped");
    };
    // Two images with one number (img46.jpg and img046.jpg): which is the frame cannot be known.
    auto ambiguous = [&](std::int64_t frame) {
      for (const auto& d : found.duplicates) {
        if (detail::casme2_frame_number(detail::casme2_lowered(d.stem().string()), prefix) != frame) continue;
        const std::string message =
            str(row, ": frame ", frame, " has two files: ", found.images.at(frame).string(), " and ", d.string());
        if (!skip) fail(message);
        ++r.unreadable_frames;
        r.skipped_frames.push_back(message + "; skipped");
        return true;
      }
      return false;
    };

    if (options.frames == casme2_frames::apex_only) {
      const std::int64_t frame = wanted.front();
      if (const auto it = found.images.find(frame); it != found.images.end()) {
        if (!ambiguous(frame)) load_frame(frame, it->second);
      } else if (const auto bad = found.non_images.find(frame); bad != found.non_images.end()) {
        not_an_image(frame, bad->second);
      } else {
        report_missing(frame, frame);
      }
    } else {
      // Walks the files in range rather than every number of the range: a forged offset of 10^12 costs
      // nothing but one missing-frames line.
      std::int64_t next = clip.onset;
      auto gap_until = [&](std::int64_t frame) {
        if (frame > next) {
          // Numbers between next and frame that name a non-image file are reported as such, the rest as missing.
          std::int64_t from = next;
          for (auto bad = found.non_images.lower_bound(next); bad != found.non_images.end() && bad->first < frame;
               ++bad) {
            if (bad->first > from) report_missing(from, bad->first - 1);
            not_an_image(bad->first, bad->second);
            from = bad->first + 1;
          }
          if (frame > from) report_missing(from, frame - 1);
        }
        next = frame + 1;
      };
      for (auto it = found.images.lower_bound(clip.onset); it != found.images.end() && it->first <= clip.offset; ++it) {
        gap_until(it->first);
        if (!ambiguous(it->first)) load_frame(it->first, it->second);
      }
      if (clip.offset >= next) gap_until(clip.offset + 1);
    }
    for (const auto& [frame, file] : found.non_images)
      if (std::find(reported_non_images.begin(), reported_non_images.end(), frame) == reported_non_images.end())
        r.ignored_files.push_back(str(file.string(), ": not an image, and not in place of a frame that was wanted"));
    if (loaded > 0) ++r.clips_per_class[static_cast<std::size_t>(label)];
    r.frames_per_class[static_cast<std::size_t>(label)] += loaded;
  }
  if (report) *report = std::move(r);
  return out;
}

}  // namespace data
FERGEN_END_NAMESPACE
