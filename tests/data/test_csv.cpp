// Tests for fergen/data/csv.hpp: RFC 4180 reading and writing, checked against what Python's csv module
// writes and reads, and csv_table's columns by name.
#include <fergen/data/csv.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>
#include "support/errors.hpp"

namespace {

using fergen::testing::contains;
using fergen::testing::error_of;

namespace fs = std::filesystem;
using fergen::data::csv_rows;
using fergen::data::csv_table;
using fergen::data::format_csv;
using fergen::data::parse_csv;

const fs::path fixtures = FERGEN_TEST_DATA_DIR "/casme2_fixtures";  // written by casme2_fixtures.py
const fs::path scratch = FERGEN_TEST_DATA_DIR "/test_csv";

// The rows a fixture's *_expected.txt holds: per line a field count, then each field in hex ('-' = empty).
csv_rows read_hex_rows(const fs::path& file) {
  std::ifstream in(file);
  REQUIRE_MESSAGE(in, "cannot open ", file.string(), " (did the casme2_fixtures test run?)");
  csv_rows rows;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::size_t n = 0;
    fields >> n;
    std::vector<std::string> row;
    for (std::size_t i = 0; i < n; ++i) {
      std::string hex;
      fields >> hex;
      std::string value;
      if (hex != "-")
        for (std::size_t k = 0; k + 1 < hex.size(); k += 2)
          value += static_cast<char>(std::stoi(hex.substr(k, 2), nullptr, 16));
      row.push_back(value);
    }
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

TEST_CASE("parse_csv: quotes, doubled quotes, embedded line breaks, empty fields") {
  CHECK(parse_csv("a,b,c\n1,2,3\n", "t.csv") == csv_rows{{"a", "b", "c"}, {"1", "2", "3"}});
  CHECK(parse_csv("\"a,b\",\"say \"\"hi\"\"\",\"\"\n", "t.csv") == csv_rows{{"a,b", "say \"hi\"", ""}});
  CHECK(parse_csv("\"multi\nline\",x\r\n", "t.csv") == csv_rows{{"multi\nline", "x"}});
  CHECK(parse_csv("\"keeps\r\ncrlf\"\r\n", "t.csv") == csv_rows{{"keeps\r\ncrlf"}});
  CHECK(parse_csv(",,\n", "t.csv") == csv_rows{{"", "", ""}});
  CHECK(parse_csv("a,\n", "t.csv") == csv_rows{{"a", ""}});
  CHECK(parse_csv(" spaced , kept ", "t.csv") == csv_rows{{" spaced ", " kept "}});
  // A quote inside an unquoted field is taken literally, as spreadsheet programs do.
  CHECK(parse_csv("5\" screen,x", "t.csv") == csv_rows{{"5\" screen", "x"}});
}

TEST_CASE("parse_csv: CRLF, LF and CR line ends, a BOM, with and without a final line end") {
  const csv_rows want{{"a", "b"}, {"1", "2"}};
  CHECK(parse_csv("a,b\r\n1,2\r\n", "t.csv") == want);
  CHECK(parse_csv("a,b\n1,2\n", "t.csv") == want);
  CHECK(parse_csv("a,b\r1,2\r", "t.csv") == want);
  CHECK(parse_csv("a,b\n1,2", "t.csv") == want);
  CHECK(parse_csv("\xEF\xBB\xBF" "a,b\r\n1,2", "t.csv") == want);
  CHECK(parse_csv("\xEF\xBB\xBF", "t.csv").empty());
  CHECK(parse_csv("", "t.csv").empty());
  // A blank line is a row with no fields; a row with one empty field is written "" to tell them apart.
  CHECK(parse_csv("a\n\nb\n", "t.csv") == csv_rows{{"a"}, {}, {"b"}});
  CHECK(parse_csv("\"\"\n", "t.csv") == csv_rows{{""}});
  CHECK(parse_csv("\n\n", "t.csv") == csv_rows{{}, {}});
}

TEST_CASE("parse_csv: an unterminated quote names the origin and the line where the field opened") {
  CHECK(error_of([] { (void)parse_csv("a,b\nc,\"never\nclosed\n", "sheet.csv"); }) ==
        "sheet.csv: line 2: unterminated quoted field (the quote at column 3 is never closed; the text ends at line 4)");
  CHECK(error_of([] { (void)parse_csv("\"", "q.csv"); }) ==
        "q.csv: line 1: unterminated quoted field (the quote at column 1 is never closed; the text ends at line 1)");
  CHECK(error_of([] { (void)parse_csv("ok\n\"a\"b,c\n", "x.csv"); }) ==
        "x.csv: line 2, column 4: 'b,c' follows the closing quote of a field; a quote inside a quoted field must be "
        "doubled (\"\")");
}

TEST_CASE("parse_csv: reads exactly what Python's csv module wrote") {
  const csv_rows expected = read_hex_rows(fixtures / "tricky_expected.txt");
  const csv_rows got = fergen::data::read_csv(fixtures / "tricky.csv");
  CHECK(got == expected);
  // And writing gives text that reads back the same (Python writes the same bytes for these rows).
  CHECK(parse_csv(format_csv(expected), "again") == expected);
  std::ifstream in(fixtures / "tricky.csv", std::ios::binary);
  const std::string python((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(format_csv(expected) == python);
}

TEST_CASE("format_csv: quotes exactly the fields that need it; write_csv is atomic and reads back") {
  CHECK(format_csv({{"a", "b,c", "d\"e", "f\rg", "h\ni", ""}}) == "a,\"b,c\",\"d\"\"e\",\"f\rg\",\"h\ni\",\r\n");
  CHECK(format_csv({{}, {""}, {"", ""}}) == "\r\n\"\"\r\n,\r\n");
  // A value starting with a byte-order mark is quoted at the start of the text, where reading drops a mark.
  const csv_rows bom{{"\xEF\xBB\xBF" "a", "\xEF\xBB\xBF" "b"}};
  CHECK(format_csv(bom) == "\"\xEF\xBB\xBF" "a\",\xEF\xBB\xBF" "b\r\n");
  CHECK(parse_csv(format_csv(bom), "bom") == bom);
  const csv_rows rows{{"file", "subject"}, {"x, y.png", "sub01"}, {}, {"\"q\"", ""}};
  CHECK(parse_csv(format_csv(rows), "round") == rows);

  fs::create_directories(scratch);
  const fs::path p = scratch / "out.csv";
  fergen::data::write_csv(p, rows);
  CHECK(fergen::data::read_csv(p) == rows);
  for (const auto& entry : fs::directory_iterator(scratch))
    CHECK_MESSAGE(!contains(entry.path().filename().string(), ".tmp-"), entry.path().string());
  const fs::path nowhere = scratch / "no" / "such" / "dir.csv";
  const std::string message = error_of([&] { fergen::data::write_csv(nowhere, rows); });
  CHECK_MESSAGE(contains(message, nowhere.string()), message);
  CHECK(contains(error_of([&] { (void)fergen::data::read_csv(scratch / "missing.csv"); }),
                 "missing.csv: cannot open for reading"));
}

TEST_CASE("csv_table: columns by name, case- and space-insensitive; cells of short rows are empty") {
  const csv_table t(parse_csv("\n Subject ,FILE name,,OnsetFrame\n1,EP02_01f\n,,,\n2,x,,7\n", "s.csv"), "s.csv");
  CHECK(t.header_row() == 2);  // the first non-blank row
  CHECK(t.column("subject") == 0);
  CHECK(t.column("Filename") == 1);
  CHECK(t.column("onset frame") == 3);
  CHECK(t.find("ApexFrame") == std::nullopt);
  REQUIRE(t.size() == 3);
  CHECK(t.row_number(0) == 3);
  CHECK(t.cell(0, 1) == "EP02_01f");
  CHECK(t.cell(0, 3).empty());  // the row has only two fields
  CHECK(t.blank(1));
  CHECK(t.cell(2, 3) == "7");
  CHECK(t.columns({"onsetframe", "SUBJECT"}) == std::vector<std::size_t>{3, 0});
}

TEST_CASE("csv_table: a missing column is an error listing the header; duplicates and empty tables too") {
  const csv_table t(parse_csv("Subject,Filename\n1,a\n", "s.csv"), "s.csv");
  CHECK(error_of([&] { (void)t.column("Estimated Emotion"); }) ==
        "s.csv: row 1: no column 'Estimated Emotion' in the header ('Subject', 'Filename')");
  CHECK(error_of([&] { (void)t.columns({"Subject", "Onset", "Apex"}); }) ==
        "s.csv: row 1: no column 'Onset', 'Apex' in the header ('Subject', 'Filename')");
  const csv_table twice(parse_csv("file,File\n", "d.csv"), "d.csv");
  CHECK(error_of([&] { (void)twice.column("file"); }) ==
        "d.csv: row 1: columns 1 and 2 are both named 'file' (header: 'file', 'File')");
  CHECK(error_of([] { (void)csv_table(parse_csv("\n,,\n", "e.csv"), "e.csv"); }) ==
        "e.csv: no header row (the table is empty)");
}
