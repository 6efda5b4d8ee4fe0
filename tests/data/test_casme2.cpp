// Tests for fergen/data/casme2_sheet.hpp and casme2.hpp on CASME-shaped fixtures (casme2_fixtures.py): a
// coding sheet laid out like the real one, as Excel stores it, as openpyxl writes it and as its CSV export;
// raw and cropped trees of tiny JPEG frames; and broken copies (missing frame, corrupt JPEG, text file,
// ambiguous folder, unknown emotion, missing clip).
#include <fergen/data/casme2.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include "support/errors.hpp"

namespace {

using fergen::testing::contains;
using fergen::testing::error_of;

namespace fs = std::filesystem;
using namespace fergen::data;

const fs::path fixtures = FERGEN_TEST_DATA_DIR "/casme2_fixtures";  // written by casme2_fixtures.py

bool any_contains(const std::vector<std::string>& items, std::string_view needle) {
  for (const auto& s : items)
    if (contains(s, needle)) return true;
  return false;
}

casme2_options options(const std::string& tree, const std::string& sheet = "sheet.xlsx") {
  casme2_options o;
  o.root = fixtures / tree;
  o.sheet = fixtures / sheet;
  o.height = 0;  // the files' own size unless a test asks otherwise
  o.width = 0;
  return o;
}

// (clip, frame) of every sample, in order.
std::vector<std::pair<std::string, std::int64_t>> frames_of(const dataset& d) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (const auto& s : d) out.emplace_back(s.clip, s.frame);
  return out;
}

// The study's onset..offset frames of the fixture sheet, in sheet order and numeric order within a clip.
const std::vector<std::pair<std::string, std::int64_t>> study_frames = {
    {"sub01/EP02_01f", 9},   {"sub01/EP02_01f", 10},  {"sub01/EP02_01f", 11},  {"sub01/EP03_02", 5},
    {"sub01/EP03_02", 6},    {"sub01/EP03_02", 7},    {"sub01/EP03_02", 8},    {"sub02/EP01_12f", 98},
    {"sub02/EP01_12f", 99},  {"sub02/EP01_12f", 100}, {"sub02/EP01_12f", 101}, {"sub02/EP05_03f", 1},
    {"sub02/EP05_03f", 2},   {"sub02/EP05_03f", 3},   {"sub03/EP07_01", 20},   {"sub03/EP07_01", 21},
    {"sub03/EP07_01", 22},   {"sub03/EP08_02f", 4},   {"sub03/EP08_02f", 5},   {"sub03/EP08_02f", 6},
    {"sub03/EP09_01", 1},    {"sub03/EP09_01", 2},    {"sub04/EP10_01", 3}};

// Emotion of each clip of the fixture.
const std::map<std::string, std::string> clip_emotion = {
    {"sub01/EP02_01f", "happiness"}, {"sub01/EP03_02", "surprise"},  {"sub02/EP01_12f", "disgust"},
    {"sub02/EP05_03f", "fear"},      {"sub03/EP07_01", "repression"}, {"sub03/EP08_02f", "others"},
    {"sub03/EP09_01", "sadness"},    {"sub04/EP10_01", "happiness"}};

// frames.csv: layout -> clip/frame -> (file, gray level the frame was drawn with).
std::map<std::string, std::pair<std::string, double>> drawn(const std::string& layout) {
  const csv_table t = csv_table::read(fixtures / "frames.csv");
  std::map<std::string, std::pair<std::string, double>> out;
  for (std::size_t i = 0; i < t.size(); ++i)
    if (t.cell(i, 0) == layout)
      out[std::string(t.cell(i, 1)) + "#" + std::string(t.cell(i, 2))] = {std::string(t.cell(i, 3)),
                                                                          std::stod(std::string(t.cell(i, 4)))};
  return out;
}

double mean(const image& img) {
  double s = 0;
  for (const float v : img.pixels) s += v;
  return s / static_cast<double>(img.pixels.size());
}

void check_same(const dataset& a, const dataset& b) {
  REQUIRE(a.class_names() == b.class_names());
  REQUIRE(a.size() == b.size());
  for (std::int64_t i = 0; i < a.size(); ++i) {
    CAPTURE(i);
    CHECK(a[i].label == b[i].label);
    CHECK(a[i].subject == b[i].subject);
    CHECK(a[i].clip == b[i].clip);
    CHECK(a[i].frame == b[i].frame);
    CHECK(a[i].source == b[i].source);
    CHECK(a[i].image == b[i].image);
  }
}

}  // namespace

TEST_CASE("casme2 label sets: class names in order and the emotions each keeps or drops") {
  CHECK(casme2_class_names(casme2_labels::study7) ==
        std::vector<std::string>{"happiness", "sadness", "surprise", "disgust", "fear", "repression", "others"});
  CHECK(casme2_class_names(casme2_labels::five_class) ==
        std::vector<std::string>{"happiness", "surprise", "disgust", "repression", "others"});
  CHECK(casme2_class_names(casme2_labels::megc3) == std::vector<std::string>{"positive", "negative", "surprise"});
  const std::map<std::string, std::vector<std::int64_t>> expected = {
      // study7, five_class, megc3
      {"happiness", {0, 0, 0}}, {"sadness", {1, -1, -1}},   {"surprise", {2, 1, 2}},  {"disgust", {3, 2, 1}},
      {"fear", {4, -1, -1}},    {"repression", {5, 3, 1}}, {"others", {6, 4, -1}}};
  for (const auto& [emotion, labels] : expected) {
    CAPTURE(emotion);
    CHECK(casme2_class_of(emotion, casme2_labels::study7) == labels[0]);
    CHECK(casme2_class_of(emotion, casme2_labels::five_class) == labels[1]);
    CHECK(casme2_class_of(emotion, casme2_labels::megc3) == labels[2]);
  }
  CHECK(to_string(casme2_labels::megc3) == "megc3");
}

TEST_CASE("read_casme2_sheet: the fixture sheet's clips, with every quirk resolved and reported by row") {
  const fs::path p = fixtures / "sheet.xlsx";
  const casme2_sheet sheet = read_casme2_sheet(p);
  REQUIRE(sheet.clips.size() == 8);
  const casme2_clip& first = sheet.clips[0];
  CHECK(first.subject == "sub01");
  CHECK(first.filename == "EP02_01f");
  CHECK(first.onset == 9);
  CHECK(first.apex == 10);
  CHECK(first.offset == 11);
  CHECK(first.action_units == "12");
  CHECK(first.emotion == "happiness");
  CHECK(first.row == 2);
  CHECK(sheet.clips[1].apex == -1);  // "/"
  CHECK(sheet.clips[1].apex_or_middle() == 6);
  CHECK(sheet.clips[2].filename == "EP01_12");
  CHECK(sheet.clips[2].emotion == "disgust");  // " Disgust "
  CHECK(sheet.clips[4].filename == "Ep07_01");
  CHECK(sheet.clips[6].filename == "EP09_01");  // "EP09_01 "
  CHECK(sheet.clips[7].row == 10);              // row 9 is blank
  CHECK(sheet.skipped_rows == std::vector<std::int64_t>{11, 12});
  const std::string o = p.string();
  CHECK(sheet.warnings ==
        std::vector<std::string>{
            o + ": row 3: ApexFrame '/' is not a frame number; apex-only selection uses the middle frame 6 of 5..8",
            o + ": row 4: Estimated Emotion ' Disgust ' read as 'disgust'",
            o + ": row 8: Filename 'EP09_01 ' has stray spaces; read as 'EP09_01'",
            o + ": row 11: OffsetFrame 5 is before OnsetFrame 10; row skipped",
            o + ": row 12: OnsetFrame '' is not a frame number; row skipped"});
}

TEST_CASE("read_casme2_sheet: Excel's shared strings, openpyxl's inline strings and the CSV export agree") {
  const casme2_sheet a = read_casme2_sheet(fixtures / "sheet.xlsx");
  for (const char* other : {"sheet_openpyxl.xlsx", "sheet.csv"}) {
    CAPTURE(other);
    const casme2_sheet b = read_casme2_sheet(fixtures / other);
    REQUIRE(b.clips.size() == a.clips.size());
    for (std::size_t i = 0; i < a.clips.size(); ++i) {
      CHECK(b.clips[i].subject == a.clips[i].subject);
      CHECK(b.clips[i].filename == a.clips[i].filename);
      CHECK(b.clips[i].onset == a.clips[i].onset);
      CHECK(b.clips[i].apex == a.clips[i].apex);
      CHECK(b.clips[i].offset == a.clips[i].offset);
      CHECK(b.clips[i].action_units == a.clips[i].action_units);
      CHECK(b.clips[i].emotion == a.clips[i].emotion);
      CHECK(b.clips[i].row == a.clips[i].row);
    }
    REQUIRE(b.warnings.size() == a.warnings.size());
    for (std::size_t i = 0; i < a.warnings.size(); ++i)
      CHECK(b.warnings[i].substr(b.origin.size()) == a.warnings[i].substr(a.origin.size()));
  }
}

TEST_CASE("parse_casme2_sheet: subjects, numbers, columns anywhere; bad rows fail or are skipped as asked") {
  const csv_rows rows = {{"estimated emotion", "  ONSET frame", "Subject", "FileName", "Apex Frame", "OffsetFrame"},
                         {"others", "1", "1", "A", "2", "3"},
                         {"others", "1.0", "01", "B", "", "3.0"},
                         {"others", "1", "sub01", "C", "2", "3"},
                         {"others", "1", "Sub7", "D", "2", "3"},
                         {"others", "1", "12.0", "E", "2", "3"}};
  const casme2_sheet s = parse_casme2_sheet(rows, "s.csv");
  REQUIRE(s.clips.size() == 5);
  CHECK(s.clips[0].subject == "sub01");
  CHECK(s.clips[1].subject == "sub01");
  CHECK(s.clips[1].onset == 1);
  CHECK(s.clips[1].offset == 3);
  CHECK(s.clips[2].subject == "sub01");
  CHECK(s.clips[3].subject == "sub07");
  CHECK(s.clips[4].subject == "sub12");
  CHECK(s.clips[0].action_units.empty());  // no Action Units column: allowed

  const csv_rows bad_subject = {{"Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Estimated Emotion"},
                                {"one", "A", "1", "2", "3", "others"},
                                {"2", "B", "1", "2", "3", "others"}};
  CHECK(error_of([&] { (void)parse_casme2_sheet(bad_subject, "s.csv"); }) ==
        "s.csv: row 2: Subject 'one' is not a subject number (1, 01, 1.0 or sub01)");
  const casme2_sheet skipped = parse_casme2_sheet(bad_subject, "s.csv", error_policy::skip_and_report);
  CHECK(skipped.clips.size() == 1);
  CHECK(skipped.skipped_rows == std::vector<std::int64_t>{2});
  CHECK(skipped.warnings.front() ==
        "s.csv: row 2: Subject 'one' is not a subject number (1, 01, 1.0 or sub01); row skipped");

  const csv_rows twice = {{"Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Estimated Emotion"},
                          {"1", "EP01_01", "1", "2", "3", "others"},
                          {"1", "ep01_01", "1", "2", "3", "fear"}};
  CHECK(error_of([&] { (void)parse_casme2_sheet(twice, "t.csv"); }) ==
        "t.csv: row 3: clip sub01/ep01_01 is already listed on row 2");

  const csv_rows missing = {{"Subject", "Filename", "Onset", "ApexFrame", "OffsetFrame", "Emotion"}};
  CHECK(error_of([&] { (void)parse_casme2_sheet(missing, "m.csv"); }) ==
        "m.csv: row 1: no column 'OnsetFrame', 'Estimated Emotion' in the header ('Subject', 'Filename', 'Onset', "
        "'ApexFrame', 'OffsetFrame', 'Emotion')");
  CHECK(contains(error_of([] { (void)read_casme2_sheet(fixtures / "frames.txt"); }),
                 "frames.txt: the coding sheet must be an .xlsx workbook or a .csv export (extension '.txt')"));
}

TEST_CASE("read_casme2_sheet: an unknown emotion names the row and value, or is skipped and reported") {
  for (const char* file : {"unknown_emotion.xlsx", "unknown_emotion.csv"}) {
    CAPTURE(file);
    const fs::path p = fixtures / file;
    CHECK(error_of([&] { (void)read_casme2_sheet(p); }) ==
          p.string() + ": row 13: unknown Estimated Emotion 'contempt' (known: happiness, sadness, surprise, disgust, "
                       "fear, repression, others)");
    const casme2_sheet s = read_casme2_sheet(p, error_policy::skip_and_report);
    CHECK(s.clips.size() == 8);
    CHECK(s.skipped_rows == std::vector<std::int64_t>{11, 12, 13});
    CHECK(any_contains(s.warnings, ": row 13: unknown Estimated Emotion 'contempt'"));
  }
}

TEST_CASE("load_casme2: every onset..offset frame of the raw tree, numerically ordered, labelled, identified") {
  casme2_report report;
  const dataset d = load_casme2(options("raw"), &report);
  CHECK(frames_of(d) == study_frames);
  const auto files = drawn("raw");
  for (const auto& s : d) {
    CAPTURE(s.source);
    const std::string key = s.clip + "#" + std::to_string(s.frame);
    REQUIRE(files.count(key) == 1);
    CHECK(fs::path(s.source) == fixtures / files.at(key).first);
    CHECK(s.subject == s.clip.substr(0, 5));
    CHECK(d.class_names()[static_cast<std::size_t>(s.label)] == clip_emotion.at(s.clip));
    CHECK(s.image.channels == 1);
    CHECK(s.image.height == 10);
    CHECK(s.image.width == 12);
    CHECK(std::abs(mean(s.image) - files.at(key).second) < 3.0);  // the right file for the frame
  }
  CHECK(d.class_counts() == std::vector<std::int64_t>{4, 2, 4, 4, 3, 3, 3});
  CHECK(report.layout == "raw");
  CHECK(report.frames_per_class == std::vector<std::int64_t>{4, 2, 4, 4, 3, 3, 3});
  CHECK(report.clips_per_class == std::vector<std::int64_t>{2, 1, 1, 1, 1, 1, 1});
  CHECK(report.frames_loaded() == 23);
  CHECK(report.sheet_rows == 8);
  CHECK(report.sheet_warnings.size() == 5);
  CHECK(report.skipped_rows.empty());
  CHECK(report.skipped_frames.empty());
  CHECK(report.missing_frames == 0);
  const std::string sheet = (fixtures / "sheet.xlsx").string();
  CHECK(any_contains(report.resolved, sheet + ": row 4: Filename 'EP01_12' is the folder " +
                                          (fixtures / "raw" / "sub02" / "EP01_12f").string()));
  CHECK(any_contains(report.resolved, sheet + ": row 6: Filename 'Ep07_01' is the folder " +
                                          (fixtures / "raw" / "sub03" / "EP07_01").string()));
  CHECK(any_contains(report.resolved, "layout detected from "));
  const std::string text = report.text();
  CHECK_MESSAGE(contains(text, "23 frames of 8 clips (layout raw, labels study7, onset to offset)"), text);
  CHECK_MESSAGE(contains(text, "  disgust: 4 frames, 1 clips\n"), text);
  CHECK_MESSAGE(contains(text, "sheet warnings (5):"), text);
}

TEST_CASE("load_casme2: resized to 48 x 48 gray by default; colour when asked; the cropped tree detected") {
  casme2_options o = options("raw");
  o.height = 48;
  o.width = 48;
  const dataset small = load_casme2(o);
  REQUIRE(small.size() == 23);
  CHECK(small[0].image.channels == 1);
  CHECK(small[0].image.height == 48);
  CHECK(small[0].image.width == 48);
  CHECK(casme2_options{}.height == 48);
  CHECK(casme2_options{}.grayscale);

  o = options("raw");
  o.grayscale = false;
  const dataset colour = load_casme2(o);
  CHECK(colour[0].image.channels == 3);

  casme2_report report;
  const dataset cropped = load_casme2(options("cropped"), &report);
  CHECK(report.layout == "cropped");
  CHECK(frames_of(cropped) == study_frames);
  const auto files = drawn("cropped");
  for (const auto& s : cropped) {
    const std::string key = s.clip + "#" + std::to_string(s.frame);
    CHECK(fs::path(s.source) == fixtures / files.at(key).first);
    CHECK(s.image.height == 9);
    CHECK(s.image.width == 8);
    CHECK(std::abs(mean(s.image) - files.at(key).second) < 3.0);
  }
  o = options("cropped");
  o.layout = casme2_layout::cropped;
  check_same(load_casme2(o), cropped);
}

TEST_CASE("load_casme2: the xlsx sheet, openpyxl's and the CSV export give identical datasets") {
  const dataset a = load_casme2(options("raw", "sheet.xlsx"));
  check_same(load_casme2(options("raw", "sheet_openpyxl.xlsx")), a);
  check_same(load_casme2(options("raw", "sheet.csv")), a);
}

TEST_CASE("load_casme2: five_class and megc3 relabel and drop clips, counting what they drop") {
  casme2_options o = options("raw");
  o.labels = casme2_labels::five_class;
  casme2_report report;
  const dataset five = load_casme2(o, &report);
  CHECK(five.class_counts() == std::vector<std::int64_t>{4, 4, 4, 3, 3});
  CHECK(report.dropped_by_label_set == std::map<std::string, std::int64_t>{{"fear", 1}, {"sadness", 1}});
  for (const auto& s : five) CHECK(five.class_names()[static_cast<std::size_t>(s.label)] == clip_emotion.at(s.clip));

  o.labels = casme2_labels::megc3;
  const dataset megc = load_casme2(o, &report);
  CHECK(megc.class_counts() == std::vector<std::int64_t>{4, 7, 4});
  CHECK(report.dropped_by_label_set ==
        std::map<std::string, std::int64_t>{{"fear", 1}, {"others", 1}, {"sadness", 1}});
  const std::map<std::string, std::string> composite = {{"happiness", "positive"}, {"disgust", "negative"},
                                                        {"repression", "negative"}, {"surprise", "surprise"}};
  for (const auto& s : megc)
    CHECK(megc.class_names()[static_cast<std::size_t>(s.label)] == composite.at(clip_emotion.at(s.clip)));
  CHECK(contains(report.text(), "dropped by the label set megc3: fear 1 clips; others 1 clips; sadness 1 clips;"));
}

TEST_CASE("load_casme2: apex_only takes the apex, or the middle frame when the sheet has none, and says so") {
  casme2_options o = options("raw");
  o.frames = casme2_frames::apex_only;
  casme2_report report;
  const dataset d = load_casme2(o, &report);
  CHECK(frames_of(d) == std::vector<std::pair<std::string, std::int64_t>>{
                            {"sub01/EP02_01f", 10}, {"sub01/EP03_02", 6}, {"sub02/EP01_12f", 100},
                            {"sub02/EP05_03f", 2},  {"sub03/EP07_01", 21}, {"sub03/EP08_02f", 5},
                            {"sub03/EP09_01", 1},   {"sub04/EP10_01", 3}});
  CHECK(any_contains(report.resolved, ": row 3: no ApexFrame; apex-only selection took the middle frame 6 of 5..8"));
}

TEST_CASE("load_casme2: a missing frame names the row, the clip folder and the frame, or is skipped and counted") {
  casme2_options o = options("missing_frame", "sheet.csv");
  const std::string message = error_of([&] { (void)load_casme2(o); });
  CHECK(message == (fixtures / "sheet.csv").string() + ": row 2: " +
                       (fixtures / "missing_frame" / "sub01" / "EP02_01f").string() +
                       ": frame 10 (img10.jpg) missing, between onset 9 and offset 11");
  o.on_error = error_policy::skip_and_report;
  casme2_report report;
  const dataset d = load_casme2(o, &report);
  CHECK(d.size() == 22);
  CHECK(report.missing_frames == 1);
  REQUIRE(report.skipped_frames.size() == 1);
  CHECK(report.skipped_frames[0] == message + "; skipped");
  CHECK(d[0].frame == 9);
  CHECK(d[1].frame == 11);
  CHECK(contains(report.text(), "frames skipped: 1 missing, 0 unreadable"));
}

TEST_CASE("load_casme2: a corrupt JPEG names its file and row, or is skipped and counted") {
  casme2_options o = options("corrupt", "sheet.csv");
  const fs::path bad = fixtures / "corrupt" / "sub02" / "EP01_12f" / "img99.jpg";
  const std::string message = error_of([&] { (void)load_casme2(o); });
  CHECK_MESSAGE(contains(message, (fixtures / "sheet.csv").string() + ": row 4: frame 99: " + bad.string() + ": "),
                message);
  o.on_error = error_policy::skip_and_report;
  casme2_report report;
  const dataset d = load_casme2(o, &report);
  CHECK(d.size() == 22);
  CHECK(report.unreadable_frames == 1);
  REQUIRE(report.skipped_frames.size() == 1);
  CHECK(contains(report.skipped_frames[0], bad.string()));
}

TEST_CASE("load_casme2: a text file where a frame should be is an error naming it; stray files are reported") {
  casme2_options o = options("text_file", "sheet.csv");
  const fs::path text = fixtures / "text_file" / "sub03" / "EP07_01" / "img21.txt";
  CHECK(error_of([&] { (void)load_casme2(o); }) == (fixtures / "sheet.csv").string() + ": row 6: frame 21: " +
                                                        text.string() + " is not an image file (img21.jpg expected)");
  o.on_error = error_policy::skip_and_report;
  casme2_report report;
  const dataset d = load_casme2(o, &report);
  CHECK(d.size() == 22);
  CHECK(report.unreadable_frames == 1);
  CHECK(report.missing_frames == 0);
  CHECK(any_contains(report.ignored_files, (fixtures / "text_file" / "sub03" / "EP07_01" / "notes.txt").string()));
}

TEST_CASE("load_casme2: ambiguous or missing clip folders name the row, or skip the row and report it") {
  casme2_options o = options("ambiguous", "sheet.csv");
  CHECK(error_of([&] { (void)load_casme2(o); }) ==
        (fixtures / "sheet.csv").string() + ": row 4: clip folder " +
            (fixtures / "ambiguous" / "sub02" / "EP01_12").string() +
            ": ambiguous: it could be any of EP01_12f EP01_12g");
  o.on_error = error_policy::skip_and_report;
  casme2_report report;
  CHECK(load_casme2(o, &report).size() == 19);
  CHECK(report.skipped_rows.size() == 1);

  o = options("raw", "missing_clip.csv");
  const std::string message = error_of([&] { (void)load_casme2(o); });
  CHECK(message == (fixtures / "missing_clip.csv").string() + ": row 13: clip folder " +
                       (fixtures / "raw" / "sub01" / "EP99_99").string() + ": no such folder");
  o.on_error = error_policy::skip_and_report;
  CHECK(load_casme2(o, &report).size() == 23);
  CHECK(report.skipped_rows == std::vector<std::string>{message + "; row skipped"});
  CHECK(contains(report.text(), "skipped rows (1):"));

  o = options("raw", "unknown_emotion.csv");
  CHECK(contains(error_of([&] { (void)load_casme2(o); }), ": row 13: unknown Estimated Emotion 'contempt'"));
  o.on_error = error_policy::skip_and_report;
  CHECK(load_casme2(o, &report).size() == 23);
  CHECK(any_contains(report.sheet_warnings, ": row 13: unknown Estimated Emotion 'contempt'"));
}

TEST_CASE("load_casme2: layouts: both in one folder needs a choice; the wrong choice finds no frames") {
  casme2_options o = options("mixed", "sheet.csv");
  o.on_error = error_policy::skip_and_report;  // only sub01/EP02_01f exists in this tree
  CHECK(error_of([&] { (void)load_casme2(o); }) ==
        (fixtures / "mixed" / "sub01" / "EP02_01f").string() +
            ": holds both raw (img*) and cropped (reg_img*) frames; choose the layout");
  o.layout = casme2_layout::raw;
  const dataset raw = load_casme2(o);
  REQUIRE(raw.size() == 3);
  CHECK(raw[0].image.width == 12);
  o.layout = casme2_layout::cropped;
  const dataset cropped = load_casme2(o);
  REQUIRE(cropped.size() == 3);
  CHECK(cropped[0].image.width == 8);

  o = options("raw", "sheet.csv");
  o.layout = casme2_layout::cropped;
  CHECK(error_of([&] { (void)load_casme2(o); }) ==
        (fixtures / "sheet.csv").string() + ": row 2: " + (fixtures / "raw" / "sub01" / "EP02_01f").string() +
            ": frames 9..11 (reg_img9.jpg...) missing, between onset 9 and offset 11");
}

TEST_CASE("load_casme2: bad options are errors naming them") {
  casme2_options o = options("raw");
  o.height = -1;
  CHECK(error_of([&] { (void)load_casme2(o); }) ==
        "load_casme2: size -1 x 0 must be positive, or 0 x 0 to keep the size of the files");
  o = options("no_such_tree");
  CHECK(error_of([&] { (void)load_casme2(o); }) ==
        "load_casme2: root " + (fixtures / "no_such_tree").string() + " is not a folder");
  o = options("raw", "no_such_sheet.xlsx");
  CHECK(contains(error_of([&] { (void)load_casme2(o); }), "no_such_sheet.xlsx: cannot open for reading"));
}

TEST_CASE("load_casme2: the dataset's root finds Cropped or CASME2_RAW_selected inside, Cropped first; a wrong root "
          "lists where it looked") {
  const fs::path root = fs::temp_directory_path() / "fergen-test-casme2-root";
  fs::remove_all(root);
  fs::create_directories(root);
  auto load = [&](const fs::path& given, casme2_report* report) {
    casme2_options o = options("raw");
    o.root = given;
    return load_casme2(o, report);
  };
  // Only the raw frames: the root's CASME2_RAW_selected.
  fs::copy(fixtures / "raw", root / "CASME2_RAW_selected", fs::copy_options::recursive);
  casme2_report report;
  const dataset raw = load(root, &report);
  CHECK(frames_of(raw) == study_frames);
  CHECK(report.layout == "raw");
  CHECK(report.frames_folder == (root / "CASME2_RAW_selected").string());
  CHECK(find_casme2_frames(root).folder == root / "CASME2_RAW_selected");
  // Both: Cropped (the study's faces), and the note says the other is there.
  fs::copy(fixtures / "cropped", root / "Cropped", fs::copy_options::recursive);
  const dataset cropped = load(root, &report);
  CHECK(frames_of(cropped) == study_frames);
  CHECK(report.layout == "cropped");
  CHECK(report.frames_folder ==
        (root / "Cropped").string() + " (CASME2_RAW_selected is there too; the study used Cropped)");
  CHECK(contains(report.text(), "CASME II frames from " + (root / "Cropped").string()));
  // The frames folder itself, as before.
  CHECK(find_casme2_frames(root / "Cropped").folder == root / "Cropped");
  CHECK(frames_of(load(root / "CASME2_RAW_selected", &report)) == study_frames);
  CHECK(report.frames_folder == (root / "CASME2_RAW_selected").string());

  // A root with neither (an empty Cropped counts as neither): one line naming every place looked at.
  const fs::path wrong = root / "wrong";
  fs::create_directories(wrong / "Cropped");
  fs::create_directories(wrong / "notes");
  CHECK(error_of([&] { (void)load(wrong, nullptr); }) ==
        "CASME II root " + wrong.string() + ": no frames found; looked for subject folders (sub01, sub02, ...) in " +
            wrong.string() + ", in " + (wrong / "Cropped").string() + ", in " +
            (wrong / "CASME2_RAW_selected").string());
  CHECK(error_of([&] { (void)find_casme2_frames(root / "nowhere"); }) ==
        "load_casme2: root " + (root / "nowhere").string() + " is not a folder");
  fs::remove_all(root);
}
