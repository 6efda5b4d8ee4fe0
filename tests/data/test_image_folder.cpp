// Tests for fergen/data/image_folder.hpp: torchvision ImageFolder's class and file order (its make_dataset,
// transcribed in casme2_fixtures.py, lists the expected order), manifests giving subject, clip and frame,
// and the broken folders: a non-image file, an empty class, no classes, manifest rows without files and
// files without manifest rows.
#include <fergen/data/image_folder.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>
#include "support/errors.hpp"

namespace {

using fergen::testing::contains;
using fergen::testing::error_of;

namespace fs = std::filesystem;
using namespace fergen::data;

const fs::path fixtures = FERGEN_TEST_DATA_DIR "/casme2_fixtures";  // written by casme2_fixtures.py

image_folder_options options(const std::string& root, const std::string& manifest = "") {
  image_folder_options o;
  o.root = fixtures / root;
  if (!manifest.empty()) o.manifest = fixtures / manifest;
  return o;
}

std::string relative(const sample& s, const std::string& root) {
  return fs::path(s.source).lexically_relative(fixtures / root).generic_string();
}

}  // namespace

TEST_CASE("load_image_folder: torchvision's class and file order, labels and exact pixel values") {
  const csv_table expected = csv_table::read(fixtures / "folder_expected.csv");
  image_folder_report report;
  const dataset d = load_image_folder(options("folder"), &report);
  CHECK(d.class_names() == std::vector<std::string>{"Zebra", "apple", "b-c", "b_c"});  // code point order
  REQUIRE(static_cast<std::size_t>(d.size()) == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const sample& s = d[static_cast<std::int64_t>(i)];
    CAPTURE(s.source);
    CHECK(relative(s, "folder") == expected.cell(i, 0));
    CHECK(s.label == std::stoll(std::string(expected.cell(i, 1))));
    CHECK(d.class_names()[static_cast<std::size_t>(s.label)] == expected.cell(i, 2));
    CHECK(s.image.pixels.front() == static_cast<float>(std::stoi(std::string(expected.cell(i, 3)))));  // lossless
    CHECK(s.subject.empty());  // no manifest
    CHECK(s.clip.empty());
    CHECK(s.frame == -1);
  }
  CHECK(d[4].image.channels == 3);  // apple/img9.png is RGB; colour kept
  CHECK(d[0].image.channels == 1);
  CHECK(report.images_per_class == std::vector<std::int64_t>{2, 6, 1, 1});
  CHECK(report.skipped.empty());
  REQUIRE(report.ignored.size() == 1);
  CHECK(contains(report.ignored[0], ".DS_Store: hidden file"));
  CHECK(contains(report.text(), "10 images in 4 classes\n  Zebra: 2 images\n  apple: 6 images\n"));
}

TEST_CASE("load_image_folder: a manifest gives subject, clip and frame; gray and resizing on request") {
  const csv_table manifest = csv_table::read(fixtures / "folder_manifest.csv");
  std::map<std::string, std::vector<std::string>> by_file;
  for (std::size_t i = 0; i < manifest.size(); ++i)
    by_file[std::string(manifest.cell(i, 0))] = {std::string(manifest.cell(i, 1)), std::string(manifest.cell(i, 2)),
                                                 std::string(manifest.cell(i, 3))};
  image_folder_options o = options("folder", "folder_manifest.csv");
  o.color = color_mode::gray;
  o.height = 4;
  o.width = 3;
  const dataset d = load_image_folder(o);
  REQUIRE(d.size() == 10);
  for (const auto& s : d) {
    const std::string file = relative(s, "folder");
    CAPTURE(file);
    REQUIRE(by_file.count(file) == 1);
    CHECK(s.subject == by_file[file][0]);
    CHECK(s.clip == by_file[file][1]);
    CHECK(s.frame == (by_file[file][2].empty() ? -1 : std::stoll(by_file[file][2])));
    CHECK(s.image.channels == 1);
    CHECK(s.image.height == 4);
    CHECK(s.image.width == 3);
  }
  CHECK(d.subjects() == std::vector<std::string>{"s1", "s0", "s2"});
}

TEST_CASE("load_image_folder: a non-image file in a class folder is an error naming it, or skipped") {
  const fs::path text = fixtures / "folder_text" / "b_c" / "readme.txt";
  const std::string message = error_of([] { (void)load_image_folder(options("folder_text")); });
  CHECK(message == text.string() + ": not an image file (.png, .jpg, .jpeg or .bmp) in class folder b_c");
  image_folder_options o = options("folder_text");
  o.on_error = error_policy::skip_and_report;
  image_folder_report report;
  CHECK(load_image_folder(o, &report).size() == 10);
  CHECK(report.skipped == std::vector<std::string>{message + "; skipped"});
}

TEST_CASE("load_image_folder: an empty class folder is an error naming it, or kept empty and reported") {
  const fs::path empty = fixtures / "folder_empty_class" / "empty";
  CHECK(error_of([] { (void)load_image_folder(options("folder_empty_class")); }) ==
        empty.string() + ": class folder 'empty' holds no images");
  image_folder_options o = options("folder_empty_class");
  o.on_error = error_policy::skip_and_report;
  image_folder_report report;
  const dataset d = load_image_folder(o, &report);
  CHECK(d.class_names() == std::vector<std::string>{"Zebra", "apple", "b-c", "b_c", "empty"});
  CHECK(d.class_counts() == std::vector<std::int64_t>{2, 6, 1, 1, 0});
  CHECK(report.skipped.size() == 1);
}

TEST_CASE("load_image_folder: a root without class folders, or no root at all, is an error") {
  CHECK(error_of([] { (void)load_image_folder(options("folder_none")); }) ==
        (fixtures / "folder_none").string() + ": no class folders (an image folder holds one folder per class)");
  CHECK(error_of([] { (void)load_image_folder(options("no_such_folder")); }) ==
        "load_image_folder: root " + (fixtures / "no_such_folder").string() + " is not a folder");
  image_folder_options o = options("folder");
  o.width = 5;
  CHECK(error_of([&] { (void)load_image_folder(o); }) ==
        "load_image_folder: size 0 x 5 must be positive, or 0 x 0 to keep the size of the files");
}

TEST_CASE("load_image_folder: manifest rows naming missing files, and files missing from the manifest") {
  const fs::path missing = fixtures / "folder_manifest_missing.csv";
  const std::string ghost = error_of([] { (void)load_image_folder(options("folder", "folder_manifest_missing.csv")); });
  CHECK(ghost == missing.string() + ": row 12: file 'apple/ghost.png' names no image file under " +
                     (fixtures / "folder").string());
  const std::string unlisted =
      error_of([] { (void)load_image_folder(options("folder", "folder_manifest_partial.csv")); });
  CHECK(unlisted == (fixtures / "folder" / "apple" / "img9.png").string() + ": not in the manifest " +
                        (fixtures / "folder_manifest_partial.csv").string() + " (as 'apple/img9.png')");

  image_folder_options o = options("folder", "folder_manifest_partial.csv");
  o.on_error = error_policy::skip_and_report;
  image_folder_report report;
  CHECK(load_image_folder(o, &report).size() == 9);
  CHECK(report.skipped == std::vector<std::string>{unlisted + "; skipped"});
  o.manifest = missing;
  CHECK(load_image_folder(o, &report).size() == 10);
  CHECK(report.skipped == std::vector<std::string>{ghost + "; skipped"});

  o.manifest = fixtures / "frames.csv";  // a CSV without the manifest's columns
  CHECK(contains(error_of([&] { (void)load_image_folder(o); }), "frames.csv: row 1: no column 'subject' in the header"));
}
