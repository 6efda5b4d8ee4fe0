// fergen/data/image_folder.hpp: a folder of class folders of images (torchvision's ImageFolder layout),
// the form in which generated and third-party face databases are exchanged: root/<class>/<file>.png.
//
// Classes are the subfolder names sorted as torchvision sorts them (by code point, so "Zebra" comes before
// "apple"); each class's files are taken from its folder and the folders below it, ordered like
// torchvision's sorted(os.walk(...)) (folder path, then file name). ImageFolder silently skips files it
// does not recognise; here a non-image file or an empty class is an error naming it (or skipped and
// reported), because a class folder that lost its images would otherwise shift nothing but the numbers.
//
// An optional manifest (CSV: file, subject, clip and optionally frame) gives each file the identity that
// subject-independent splits group by; without one, subject and clip are empty.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/csv.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/error_policy.hpp>
#include <fergen/data/image.hpp>
#include <fergen/data/image_io.hpp>
#include <fergen/data/resize.hpp>

#include <algorithm>
#include <charconv>
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

struct image_folder_options {
  std::filesystem::path root;      // holds one folder per class
  std::filesystem::path manifest;  // optional CSV: file (relative to root, '/'-separated), subject, clip[, frame]
  color_mode color = color_mode::keep;
  std::int64_t height = 0;  // resize each image to height x width (antialiased bilinear);
  std::int64_t width = 0;   // 0 x 0 keeps the size of the files
  error_policy on_error = error_policy::fail;
};

struct image_folder_report {
  std::string root;
  std::vector<std::string> class_names;
  std::vector<std::int64_t> images_per_class;
  std::vector<std::string> skipped;  // files, classes and manifest rows left out, each with the reason
  std::vector<std::string> ignored;  // hidden files (".DS_Store"), never images

  std::string text() const {
    std::ostringstream out;
    std::int64_t total = 0;
    for (const auto n : images_per_class) total += n;
    out << "image folder " << root << ": " << total << " images in " << class_names.size() << " classes\n";
    for (std::size_t i = 0; i < class_names.size(); ++i)
      out << "  " << class_names[i] << ": " << images_per_class[i] << " images\n";
    for (const auto& [title, items] : {std::pair{"skipped", &skipped}, std::pair{"ignored", &ignored}}) {
      if (items->empty()) continue;
      out << title << " (" << items->size() << "):\n";
      for (const auto& item : *items) out << "  " << item << "\n";
    }
    return out.str();
  }
};

namespace detail {

inline bool folder_image_extension(const std::filesystem::path& file) {
  std::string e = file.extension().string();
  for (char& c : e) c = csv_lower(c);
  return e == ".png" || e == ".jpg" || e == ".jpeg" || e == ".bmp";
}

struct folder_entry {
  std::filesystem::path file;
  std::string relative;  // to root, '/'-separated: the manifest's key
};

// Every regular file below dir, in torchvision's order: sorted(os.walk(dir)) visits folders in the order of
// their path strings, and each folder's files sorted by name.
inline std::vector<folder_entry> folder_files(const std::filesystem::path& root, const std::filesystem::path& dir,
                                              std::vector<std::string>& ignored) {
  std::map<std::string, std::vector<std::filesystem::path>> by_folder;
  by_folder[dir.string()];
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(dir, ec);
  if (ec) fail(dir.string(), ": cannot list the folder: ", ec.message());
  for (const std::filesystem::recursive_directory_iterator end; it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_directory(type_ec)) {
      by_folder[it->path().string()];
      continue;
    }
    if (!it->is_regular_file(type_ec)) continue;
    if (it->path().filename().string().starts_with('.')) {
      ignored.push_back(it->path().string() + ": hidden file");
      continue;
    }
    by_folder[it->path().parent_path().string()].push_back(it->path());
  }
  if (ec) fail(dir.string(), ": listing the folder failed: ", ec.message());
  std::vector<folder_entry> out;
  for (auto& [folder, files] : by_folder) {
    std::sort(files.begin(), files.end(),
              [](const auto& a, const auto& b) { return a.filename().string() < b.filename().string(); });
    for (const auto& f : files) out.push_back({f, f.lexically_relative(root).generic_string()});
  }
  return out;
}

struct manifest_entry {
  std::string subject, clip;
  std::int64_t frame = -1;
  std::int64_t row = 0;
  bool used = false;
};

inline std::map<std::string, manifest_entry> read_folder_manifest(const std::filesystem::path& file) {
  const csv_table table = csv_table::read(file);
  const std::vector<std::size_t> col = table.columns({"file", "subject", "clip"});
  const std::optional<std::size_t> frame_column = table.find("frame");
  std::map<std::string, manifest_entry> out;
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (table.blank(i)) continue;
    const std::int64_t row = table.row_number(i);
    std::string name(table.cell(i, col[0]));
    for (char& c : name)
      if (c == '\\') c = '/';  // a manifest written on Windows
    name = std::filesystem::path(name).lexically_normal().generic_string();
    manifest_entry e{std::string(table.cell(i, col[1])), std::string(table.cell(i, col[2])), -1, row, false};
    if (frame_column) {
      std::string_view text = table.cell(i, *frame_column);
      while (!text.empty() && csv_space(text.front())) text.remove_prefix(1);
      while (!text.empty() && csv_space(text.back())) text.remove_suffix(1);
      if (!text.empty()) {
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), e.frame);
        if (ec != std::errc() || end != text.data() + text.size() || e.frame < 0)
          fail(file.string(), ": row ", row, ": frame '", csv_shown(text), "' is not a frame number");
      }
    }
    if (const auto [it, fresh] = out.emplace(name, e); !fresh)
      fail(file.string(), ": row ", row, ": file '", csv_shown(name, 200), "' is already listed on row ",
           it->second.row);
  }
  return out;
}

}  // namespace detail

// Loads every image of every class folder. Labels index the sorted class names. When report is given it
// receives the account of the load (counts per class, everything skipped).
inline dataset load_image_folder(const image_folder_options& options, image_folder_report* report = nullptr) {
  const bool resize = options.height != 0 || options.width != 0;
  require(!resize || (options.height > 0 && options.width > 0), "load_image_folder: size ", options.height, " x ",
          options.width, " must be positive, or 0 x 0 to keep the size of the files");
  const bool skip = options.on_error == error_policy::skip_and_report;
  const std::filesystem::path& root = options.root;
  {
    std::error_code ec;
    require(std::filesystem::is_directory(root, ec), "load_image_folder: root ", root.string(), " is not a folder",
            ec ? ": " + ec.message() : std::string());
  }

  image_folder_report r;
  r.root = root.string();
  std::vector<std::filesystem::path> class_dirs;
  {
    std::error_code ec;
    std::filesystem::directory_iterator it(root, ec);
    if (ec) fail(root.string(), ": cannot list the folder: ", ec.message());
    for (const std::filesystem::directory_iterator end; it != end; it.increment(ec)) {
      std::error_code type_ec;
      if (it->is_directory(type_ec)) class_dirs.push_back(it->path());
    }
    if (ec) fail(root.string(), ": listing the folder failed: ", ec.message());
  }
  // Python sorts str by code point; for UTF-8 names that is byte order, which std::string's < is.
  std::sort(class_dirs.begin(), class_dirs.end(),
            [](const auto& a, const auto& b) { return a.filename().string() < b.filename().string(); });
  require(!class_dirs.empty(), root.string(), ": no class folders (an image folder holds one folder per class)");
  for (const auto& d : class_dirs) r.class_names.push_back(d.filename().string());
  r.images_per_class.assign(class_dirs.size(), 0);

  std::map<std::string, detail::manifest_entry> manifest;
  const bool has_manifest = !options.manifest.empty();
  if (has_manifest) manifest = detail::read_folder_manifest(options.manifest);

  auto problem = [&](const std::string& message) {
    if (!skip) fail(message);
    r.skipped.push_back(message + "; skipped");
  };

  dataset out(r.class_names);
  for (std::size_t label = 0; label < class_dirs.size(); ++label) {
    const std::vector<detail::folder_entry> files = detail::folder_files(root, class_dirs[label], r.ignored);
    for (const auto& entry : files) {
      if (!detail::folder_image_extension(entry.file)) {
        problem(str(entry.file.string(), ": not an image file (.png, .jpg, .jpeg or .bmp) in class folder ",
                    class_dirs[label].filename().string()));
        continue;
      }
      sample s;
      if (has_manifest) {
        const auto it = manifest.find(entry.relative);
        if (it == manifest.end()) {
          problem(str(entry.file.string(), ": not in the manifest ", options.manifest.string(), " (as '",
                      entry.relative, "')"));
          continue;
        }
        it->second.used = true;
        s.subject = it->second.subject;
        s.clip = it->second.clip;
        s.frame = it->second.frame;
      }
      try {
        s.image = load_image(entry.file, options.color);
      } catch (const error& e) {
        problem(e.what());
        continue;
      }
      if (resize) s.image = resize_bilinear(s.image, options.height, options.width, true);
      s.label = static_cast<std::int64_t>(label);
      s.source = entry.file.string();
      out.add(std::move(s));
      ++r.images_per_class[label];
    }
    if (r.images_per_class[label] == 0)
      problem(str(class_dirs[label].string(), ": class folder '", r.class_names[label], "' holds no images"));
  }
  for (const auto& [name, e] : manifest)
    if (!e.used)
      problem(str(options.manifest.string(), ": row ", e.row, ": file '", name, "' names no image file under ",
                  root.string()));
  if (report) *report = std::move(r);
  return out;
}

}  // namespace data
FERGEN_END_NAMESPACE
