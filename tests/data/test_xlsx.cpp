// Tests for fergen/data/xlsx.hpp: workbooks openpyxl wrote (inline strings) and the same rewritten the way
// Excel stores strings (shared strings, rich-text runs), cells placed by reference, every value type, and
// malformed workbooks crafted here, each an error naming the file and the part.
#include <fergen/core/zip.hpp>
#include <fergen/data/csv.hpp>
#include <fergen/data/xlsx.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
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
using fergen::data::csv_rows;
using fergen::data::parse_xlsx_sheet;
using fergen::data::read_xlsx_sheet;

const fs::path fixtures = FERGEN_TEST_DATA_DIR "/casme2_fixtures";  // written by casme2_fixtures.py

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
      std::string hex, value;
      fields >> hex;
      if (hex != "-")
        for (std::size_t k = 0; k + 1 < hex.size(); k += 2)
          value += static_cast<char>(std::stoi(hex.substr(k, 2), nullptr, 16));
      row.push_back(value);
    }
    rows.push_back(row);
  }
  return rows;
}

std::vector<std::byte> bytes_of(std::string_view s) {
  std::vector<std::byte> b(s.size());
  if (!s.empty()) std::memcpy(b.data(), s.data(), s.size());
  return b;
}

constexpr const char* ns = "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
                           "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"";
constexpr const char* rel_ns = "xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"";
constexpr const char* rel_type = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/";

// A minimal workbook: one sheet named "Data" whose sheetData is `rows`; shared strings when given.
struct workbook_parts {
  std::string rows;
  std::string shared;  // the <si> items; no sharedStrings part when empty and with_shared is false
  bool with_shared = false;
  std::string sheet_target = "worksheets/sheet1.xml";
  std::string sheet_part = "xl/worksheets/sheet1.xml";
  std::string sheet_xml;     // replaces the generated sheet XML when not empty
  std::string workbook_xml;  // replaces the generated workbook XML when not empty
  bool with_workbook = true;
};

std::vector<std::byte> workbook(const workbook_parts& p) {
  std::vector<std::pair<std::string, std::string>> members;
  members.push_back({"_rels/.rels", fergen::str("<Relationships ", rel_ns, "><Relationship Id=\"rId1\" Type=\"",
                                                rel_type, "officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>")});
  if (p.with_workbook)
    members.push_back({"xl/workbook.xml", !p.workbook_xml.empty()
                                              ? p.workbook_xml
                                              : fergen::str("<workbook ", ns, "><sheets><sheet name=\"Data\" sheetId=\"1\" "
                                                                             "r:id=\"rId1\"/></sheets></workbook>")});
  std::string rels = fergen::str("<Relationships ", rel_ns, "><Relationship Id=\"rId1\" Type=\"", rel_type,
                                 "worksheet\" Target=\"", p.sheet_target, "\"/>");
  if (p.with_shared || !p.shared.empty())
    rels += fergen::str("<Relationship Id=\"rId2\" Type=\"", rel_type, "sharedStrings\" Target=\"sharedStrings.xml\"/>");
  members.push_back({"xl/_rels/workbook.xml.rels", rels + "</Relationships>"});
  members.push_back({p.sheet_part, !p.sheet_xml.empty()
                                       ? p.sheet_xml
                                       : fergen::str("<worksheet ", ns, "><sheetData>", p.rows, "</sheetData></worksheet>")});
  if (p.with_shared || !p.shared.empty())
    members.push_back({"xl/sharedStrings.xml", fergen::str("<sst ", ns, ">", p.shared, "</sst>")});

  fergen::zip_writer zip("crafted.xlsx", fergen::zip_compression::deflate);
  std::vector<std::byte> out;
  for (const auto& [name, text] : members) {
    const auto m = zip.add(name, bytes_of(text));
    out.insert(out.end(), m.begin(), m.end());
  }
  const auto tail = zip.finish();
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

csv_rows rows_of(const std::string& sheet_data) {
  workbook_parts p;
  p.rows = sheet_data;
  return parse_xlsx_sheet(workbook(p), "book.xlsx");
}

std::string error_of_rows(const std::string& sheet_data) {
  return error_of([&] { (void)rows_of(sheet_data); });
}

}  // namespace

TEST_CASE("read_xlsx_sheet: openpyxl's typed cells read as a CSV export shows them, blanks kept in place") {
  const csv_rows expected = read_hex_rows(fixtures / "cells_expected.txt");
  const csv_rows got = read_xlsx_sheet(fixtures / "cells.xlsx");
  CHECK(got == expected);
  // Spot checks of what the expectations say, so a reader of this test sees the rules.
  REQUIRE(got.size() == 4);
  CHECK(got[0][1] == "46");    // int
  CHECK(got[0][2] == "46");    // 46.0: integral numbers have no ".0"
  CHECK(got[0][3] == "1.5");
  CHECK(got[0][4] == "TRUE");
  CHECK(got[0][6].empty());    // G1 left blank between values
  CHECK(got[1].empty());       // row 2 is blank
  CHECK(got[2][0].empty());    // C3 is the first value of row 3: A3 and B3 are empty strings
  CHECK(got[2][2] == "C3 after blanks");
  CHECK(got[2][4] == "0.3");
  CHECK(got[3][0] == "line\nbreak");
  CHECK(got[3][3] == "  spaced  ");
  CHECK(read_xlsx_sheet(fixtures / "cells.xlsx", "values") == expected);  // sheet names ignore case
  CHECK(read_xlsx_sheet(fixtures / "cells.xlsx", "Second") == read_hex_rows(fixtures / "second_expected.txt"));
  CHECK(fergen::data::xlsx_sheet_names(fixtures / "cells.xlsx") == std::vector<std::string>{"Values", "Second"});
}

TEST_CASE("read_xlsx_sheet: a sheet that is not there is an error naming the file and the sheets") {
  CHECK(error_of([] { (void)read_xlsx_sheet(fixtures / "cells.xlsx", "Third"); }) ==
        (fixtures / "cells.xlsx").string() + ": no sheet named 'Third' (sheets: 'Values', 'Second')");
  CHECK(contains(error_of([] { (void)read_xlsx_sheet(fixtures / "no_such.xlsx"); }),
                 "no_such.xlsx: cannot open for reading"));
  CHECK(contains(error_of([] { (void)read_xlsx_sheet(fixtures / "sheet.csv"); }), "sheet.csv: not a zip archive"));
}

TEST_CASE("read_xlsx_sheet: shared strings with rich-text runs equal openpyxl's inline strings and the CSV export") {
  const csv_rows shared = read_xlsx_sheet(fixtures / "sheet.xlsx");
  const csv_rows inline_strings = read_xlsx_sheet(fixtures / "sheet_openpyxl.xlsx");
  CHECK(shared == inline_strings);
  REQUIRE(shared.size() > 3);
  CHECK(shared[3][8] == " Disgust ");  // two runs " Dis" + "gust ", the phonetic guide left out
  CHECK(shared[0][2].empty());         // the blank column between Filename and OnsetFrame
  CHECK(shared[2][4] == "/");
  const csv_rows csv = fergen::data::read_csv(fixtures / "sheet.csv");
  REQUIRE(csv.size() == shared.size());
  for (std::size_t r = 0; r < csv.size(); ++r) {
    CAPTURE(r);
    std::vector<std::string> padded = shared[r];
    padded.resize(csv[r].size());  // the export writes every column of the used range
    CHECK(padded == csv[r]);
  }
}

TEST_CASE("parse_xlsx_sheet: every cell type, references, rows and cells without r, escapes, prefixes") {
  const csv_rows got = rows_of(
      "<row r=\"2\"><c r=\"B2\" t=\"inlineStr\"><is><r><t>in</t></r><r><t xml:space=\"preserve\">line </t></r></is></c>"
      "<c r=\"D2\" t=\"str\"><f>A1&amp;\"x\"</f><v>formula text</v></c><c r=\"E2\" t=\"e\"><v>#N/A</v></c></row>"
      "<row><c><v>46.0</v></c><c><v>4.6E1</v></c><c t=\"n\"><v>0.30000000000000004</v></c><c><v>-0</v></c>"
      "<c><v>-12.25</v></c><c t=\"b\"><v>0</v></c><c><f>SUM(A1)</f></c><c s=\"3\"/><c><v>1e300</v></c></row>"
      "<row r=\"5\"><c r=\"A5\" t=\"inlineStr\"><is><t>tab_x0009_and_x005F_x0041_</t></is></c>"
      "<c r=\"B5\"><v>123456789012345678</v></c></row>");
  REQUIRE(got.size() == 5);
  CHECK(got[0].empty());
  CHECK(got[1] == std::vector<std::string>{"", "inline ", "", "formula text", "#N/A"});
  // Row 3 has no r: it follows row 2; its cells have no r: they follow one another from column A.
  CHECK(got[2] == std::vector<std::string>{"46", "46", "0.3", "0", "-12.25", "FALSE", "", "", "1e+300"});
  CHECK(got[3].empty());
  CHECK(got[4] == std::vector<std::string>{"tab\tand_x0041_", "1.23456789012346e+17"});

  workbook_parts prefixed;
  prefixed.sheet_xml =
      "<x:worksheet xmlns:x=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><x:sheetData>"
      "<x:row r=\"1\"><x:c r=\"C1\"><x:v>7</x:v></x:c></x:row></x:sheetData></x:worksheet>";
  prefixed.sheet_target = "/xl/worksheets/sheet1.xml";  // absolute targets, as openpyxl writes them
  CHECK(parse_xlsx_sheet(workbook(prefixed), "p.xlsx") == csv_rows{{"", "", "7"}});

  workbook_parts relative;
  relative.rows = "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>1</v></c></row>";
  relative.shared = "<si><t>zero</t></si><si><t>one</t></si>";
  relative.sheet_target = "./sheets/../Sheets/S.xml";  // resolved, and matched ignoring case as OPC says
  relative.sheet_part = "xl/sheets/s.xml";
  CHECK(parse_xlsx_sheet(workbook(relative), "r.xlsx") == csv_rows{{"one"}});
}

TEST_CASE("parse_xlsx_sheet: broken parts and values are errors naming the file, the part and the cell") {
  CHECK(error_of_rows("<row r=\"1\"><c r=\"A1\"><v>1</v></row>").starts_with(
      "book.xlsx: xl/worksheets/sheet1.xml: malformed XML at byte "));
  CHECK(error_of_rows("<row r=\"2\"><c r=\"B2\" t=\"s\"><v>0</v></c></row>") ==
        "book.xlsx: xl/worksheets/sheet1.xml: cell B2: shared string index 0 is out of range (the workbook has no "
        "shared strings)");
  {
    workbook_parts p;
    p.rows = "<row r=\"3\"><c r=\"C3\" t=\"s\"><v>2</v></c></row>";
    p.shared = "<si><t>a</t></si><si><t>b</t></si>";
    CHECK(error_of([&] { (void)parse_xlsx_sheet(workbook(p), "book.xlsx"); }) ==
          "book.xlsx: xl/worksheets/sheet1.xml: cell C3: shared string index 2 is out of range (xl/sharedStrings.xml "
          "holds 2)");
  }
  CHECK(error_of_rows("<row r=\"1\"><c r=\"A1\" t=\"s\"><v>x</v></c></row>") ==
        "book.xlsx: xl/worksheets/sheet1.xml: cell A1: shared string index 'x' is not a number");
  CHECK(error_of_rows("<row r=\"1\"><c r=\"XFE1\"><v>1</v></c></row>") ==
        "book.xlsx: xl/worksheets/sheet1.xml: cell reference 'XFE1' lies beyond column XFD (16384), the last of a "
        "worksheet");
  CHECK(error_of_rows("<row r=\"1\"><c r=\"A1048577\"><v>1</v></c></row>") ==
        "book.xlsx: xl/worksheets/sheet1.xml: cell reference 'A1048577' lies beyond row 1048576, the last of a "
        "worksheet");
  CHECK(error_of_rows("<row r=\"1\"><c r=\"1A\"><v>1</v></c></row>") ==
        "book.xlsx: xl/worksheets/sheet1.xml: '1A' is not a cell reference (a column A..XFD, then a row number)");
  CHECK(error_of_rows("<row r=\"1048577\"><c><v>1</v></c></row>") ==
        "book.xlsx: xl/worksheets/sheet1.xml: row number '1048577' is not within 1..1048576");
  CHECK(error_of_rows("<row r=\"1\"><c r=\"B1\" t=\"b\"><v>2</v></c></row>") ==
        "book.xlsx: xl/worksheets/sheet1.xml: cell B1: boolean value '2' is neither 0 nor 1");
  CHECK(error_of_rows("<row r=\"1\"><c r=\"B1\"><v>12abc</v></c></row>") ==
        "book.xlsx: xl/worksheets/sheet1.xml: cell B1: number value '12abc' is not a finite number");
  CHECK(error_of_rows("<row r=\"1\"><c r=\"B1\"><v>nan</v></c></row>") ==
        "book.xlsx: xl/worksheets/sheet1.xml: cell B1: number value 'nan' is not a finite number");
  CHECK(error_of_rows("<row r=\"1\"><c r=\"B1\" t=\"q\"><v>1</v></c></row>") ==
        "book.xlsx: xl/worksheets/sheet1.xml: cell B1: unknown cell type 'q'");

  // A few bytes of XML must not make the reader allocate the whole 16384-column grid row after row.
  std::string wide;
  for (int r = 1; r <= 1100; ++r) wide += fergen::str("<row r=\"", r, "\"><c r=\"XFD", r, "\"><v>1</v></c></row>");
  CHECK(contains(error_of_rows(wide), "cells (with the blanks between them), more than the 16777216"));

  workbook_parts no_workbook;
  no_workbook.with_workbook = false;
  CHECK(error_of([&] { (void)parse_xlsx_sheet(workbook(no_workbook), "w.xlsx"); }) ==
        "w.xlsx: no part xl/workbook.xml in the archive (is it an .xlsx workbook?)");
  workbook_parts lost_sheet;
  lost_sheet.sheet_target = "worksheets/sheet9.xml";
  CHECK(error_of([&] { (void)parse_xlsx_sheet(workbook(lost_sheet), "w.xlsx"); }) ==
        "w.xlsx: no part xl/worksheets/sheet9.xml in the archive (is it an .xlsx workbook?)");
  workbook_parts bad_id;
  bad_id.workbook_xml = fergen::str("<workbook ", ns, "><sheets><sheet name=\"S\" r:id=\"rId7\"/></sheets></workbook>");
  CHECK(error_of([&] { (void)parse_xlsx_sheet(workbook(bad_id), "w.xlsx"); }) ==
        "w.xlsx: xl/workbook.xml: sheet 'S' refers to relationship 'rId7', which xl/_rels/workbook.xml.rels does not "
        "define");
  workbook_parts no_sheets;
  no_sheets.workbook_xml = fergen::str("<workbook ", ns, "><sheets/></workbook>");
  CHECK(error_of([&] { (void)parse_xlsx_sheet(workbook(no_sheets), "w.xlsx"); }) ==
        "w.xlsx: xl/workbook.xml: the workbook lists no sheets");
  workbook_parts not_workbook;
  not_workbook.workbook_xml = "<html/>";
  CHECK(error_of([&] { (void)parse_xlsx_sheet(workbook(not_workbook), "w.xlsx"); }) ==
        "w.xlsx: xl/workbook.xml: the root element is not <workbook>");
  workbook_parts chart;
  chart.sheet_xml = "<chartsheet/>";
  CHECK(error_of([&] { (void)parse_xlsx_sheet(workbook(chart), "w.xlsx"); }) ==
        "w.xlsx: xl/worksheets/sheet1.xml: sheet 'Data' is not a worksheet (root element <chartsheet>)");
}

TEST_CASE("parse_xlsx_sheet: every truncation and many byte flips of a real workbook parse or throw fergen::error") {
  std::ifstream in(fixtures / "sheet.xlsx", std::ios::binary);
  const std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::vector<std::byte> book = bytes_of(s);
  REQUIRE(!book.empty());
  std::size_t thrown = 0;
  for (std::size_t n = 0; n < book.size(); n += 7) {
    try {
      (void)parse_xlsx_sheet(std::span<const std::byte>(book.data(), n), "cut.xlsx");
    } catch (const fergen::error&) {
      ++thrown;
    }
  }
  CHECK(thrown == (book.size() + 6) / 7);
  std::size_t parsed = 0;
  for (std::size_t i = 0; i < 600; ++i) {
    std::vector<std::byte> flipped = book;
    flipped[(i * 7919) % flipped.size()] ^= std::byte{static_cast<unsigned char>(1u << (i % 8))};
    try {
      (void)parse_xlsx_sheet(flipped, "flipped.xlsx");
      ++parsed;
    } catch (const fergen::error&) {
    }
  }
  CHECK(parsed < 600);  // most flips hit compressed data and are caught by inflate or the CRC
}
