// fergen/data/xlsx.hpp: the cell values of one worksheet of an Office Open XML workbook (.xlsx), as text,
// the way a CSV export of the sheet shows them. Datasets ship their coding sheets as .xlsx (CASME II's
// CASME2-coding-*.xlsx); reading them directly saves the manual export step and its silent mistakes.
//
// Only values are read (no styles, no formulas, no dates as dates): shared strings (rich-text runs joined),
// inline strings, formula results, numbers (integers without a fractional part: 46, not 46.0; others
// with Excel's 15 significant digits), booleans (TRUE/FALSE) and error values (#N/A) as written. The file
// is untrusted input: the zip layer checks every size and CRC, XML is parsed by pugixml (no entity
// expansion), and anything malformed is a fergen::error naming the file and the part.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/npy.hpp>
#include <fergen/core/zip.hpp>
#include <fergen/data/csv.hpp>

#include <pugixml.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace data {

// Excel's limits: a worksheet has columns A..XFD and rows 1..1048576.
inline constexpr std::int64_t xlsx_max_columns = 16384;
inline constexpr std::int64_t xlsx_max_rows = 1048576;
// A sheet read as rows of strings is bounded by what fits in memory comfortably, not by Excel's
// 17 billion cells: a forged reference such as XFD1048576 must not make the reader allocate gigabytes.
inline constexpr std::int64_t xlsx_max_cells = std::int64_t{1} << 24;
// The largest XML part extracted (a zip member inflates to its declared size; this bounds that size).
inline constexpr std::uint64_t xlsx_max_part_bytes = std::uint64_t{1} << 28;

namespace detail {

// An element's or attribute's name without its namespace prefix: some writers use "x:row" for "row".
inline std::string_view xml_local(const char* name) {
  const std::string_view n(name);
  const std::size_t colon = n.rfind(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

inline pugi::xml_node xml_child(pugi::xml_node parent, std::string_view local) {
  for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling())
    if (c.type() == pugi::node_element && xml_local(c.name()) == local) return c;
  return {};
}

// The attribute of that local name; with prefixed = true only a prefixed one ("r:id", not "id").
inline pugi::xml_attribute xml_attribute(pugi::xml_node node, std::string_view local, bool prefixed = false) {
  for (pugi::xml_attribute a = node.first_attribute(); a; a = a.next_attribute()) {
    const std::string_view name(a.name());
    if (prefixed && name.find(':') == std::string_view::npos) continue;
    if (xml_local(a.name()) == local) return a;
  }
  return {};
}

// All character data directly inside node (text and CDATA pieces).
inline std::string xml_text(pugi::xml_node node) {
  std::string s;
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling())
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) s += c.value();
  return s;
}

inline int xlsx_hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline void xlsx_append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | cp >> 6);
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | cp >> 12);
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// OOXML writes characters XML cannot carry (control characters) as _xHHHH_, and a literal "_x" that
// would look like one as _x005F_x...; this undoes both, as Excel and openpyxl do on reading.
inline std::string ooxml_unescape(std::string_view s) {
  if (s.find("_x") == std::string_view::npos) return std::string(s);
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_' && i + 6 < s.size() && s[i + 1] == 'x' && s[i + 6] == '_') {
      std::uint32_t cp = 0;
      bool hex = true;
      for (std::size_t k = 2; k < 6; ++k) {
        const int h = xlsx_hex_value(s[i + k]);
        hex = hex && h >= 0;
        cp = cp << 4 | static_cast<std::uint32_t>(h < 0 ? 0 : h);
      }
      if (hex) {
        xlsx_append_utf8(out, cp);
        i += 6;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// The text of a shared string (<si>) or inline string (<is>): a plain <t>, or rich-text runs <r><t>
// joined. Phonetic guides (<rPh>) are annotations, not part of the value.
inline std::string xlsx_string_item(pugi::xml_node item) {
  std::string s;
  for (pugi::xml_node c = item.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    const std::string_view name = xml_local(c.name());
    if (name == "t") {
      s += xml_text(c);
    } else if (name == "r") {
      if (const pugi::xml_node t = xml_child(c, "t")) s += xml_text(t);
    }
  }
  return ooxml_unescape(s);
}

// "A1" -> (row 1, column 1); columns and rows are 1-based and within Excel's limits, or it is an error.
struct xlsx_cell_position {
  std::int64_t row = 0;
  std::int64_t column = 0;
};

inline std::optional<xlsx_cell_position> xlsx_parse_reference(std::string_view ref) {
  xlsx_cell_position p;
  std::size_t i = 0;
  while (i < ref.size() && i < 4 && ((ref[i] >= 'A' && ref[i] <= 'Z') || (ref[i] >= 'a' && ref[i] <= 'z'))) {
    p.column = p.column * 26 + (csv_lower(ref[i]) - 'a' + 1);
    ++i;
  }
  const std::size_t digits = i;
  while (i < ref.size() && i - digits < 8 && ref[i] >= '0' && ref[i] <= '9') p.row = p.row * 10 + (ref[i++] - '0');
  if (digits == 0 || i == digits || i != ref.size()) return std::nullopt;
  return p;
}

// Excel's column letters for a 1-based column: 1 -> A, 28 -> AB.
inline std::string xlsx_column_letters(std::int64_t column) {
  std::string s;
  for (; column > 0; column = (column - 1) / 26) s.insert(s.begin(), static_cast<char>('A' + (column - 1) % 26));
  return s;
}

// A number cell as a CSV export shows it under the General format: integral values without a fraction
// (Excel stores every number as a double, so a frame number 46 may be written "46" or "46.0"), the rest
// with 15 significant digits, which drops binary noise such as 0.30000000000000004.
inline std::optional<std::string> xlsx_format_number(std::string_view text) {
  while (!text.empty() && csv_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && csv_space(text.back())) text.remove_suffix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) return std::nullopt;
  if (v == std::trunc(v) && std::abs(v) < 1e15) return std::to_string(static_cast<std::int64_t>(v));
  char buffer[64];
  const auto r = std::to_chars(buffer, buffer + sizeof buffer, v, std::chars_format::general, 15);
  return std::string(buffer, r.ptr);
}

// Resolves a relationship target against the folder of the part that names it ("worksheets/sheet1.xml"
// from "xl/workbook.xml" is "xl/worksheets/sheet1.xml"; "/xl/x.xml" is absolute).
inline std::string opc_resolve_part(std::string_view source_part, std::string_view target) {
  std::vector<std::string> parts;
  auto push_path = [&](std::string_view path) {
    std::size_t start = 0;
    while (start <= path.size()) {
      std::size_t slash = path.find('/', start);
      if (slash == std::string_view::npos) slash = path.size();
      const std::string_view piece = path.substr(start, slash - start);
      if (piece == "..") {
        if (!parts.empty()) parts.pop_back();
      } else if (!piece.empty() && piece != ".") {
        parts.emplace_back(piece);
      }
      start = slash + 1;
    }
  };
  if (!target.starts_with('/')) {
    const std::size_t slash = source_part.rfind('/');
    if (slash != std::string_view::npos) push_path(source_part.substr(0, slash));
  }
  push_path(target);
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

// "xl/workbook.xml" -> "xl/_rels/workbook.xml.rels".
inline std::string opc_rels_part(std::string_view part) {
  const std::size_t slash = part.rfind('/');
  const std::string_view folder = slash == std::string_view::npos ? std::string_view() : part.substr(0, slash + 1);
  const std::string_view file = slash == std::string_view::npos ? part : part.substr(slash + 1);
  return str(folder, "_rels/", file, ".rels");
}

struct xlsx_placed_cell {
  std::int64_t row, column;  // 1-based
  std::string value;
};

struct xlsx_relationship {
  std::string id, type, target;  // target resolved to a part name
};

struct xlsx_sheet_entry {
  std::string name;
  std::string part;
};

class xlsx_workbook {
 public:
  explicit xlsx_workbook(zip_reader zip) : zip_(std::move(zip)) {
    // The workbook part is named by the package relationships; every writer uses xl/workbook.xml, which
    // is also the fallback when the package has no _rels/.rels.
    std::string workbook_part = "xl/workbook.xml";
    if (find_part("_rels/.rels"))
      for (const auto& r : relationships("_rels/.rels", ""))
        if (r.type.ends_with("/officeDocument")) workbook_part = r.target;

    const pugi::xml_document workbook = load(workbook_part);
    const std::string rels_part = opc_rels_part(workbook_part);
    const std::vector<xlsx_relationship> rels =
        find_part(rels_part) ? relationships(rels_part, workbook_part) : std::vector<xlsx_relationship>{};
    const pugi::xml_node root = workbook.document_element();
    if (xml_local(root.name()) != "workbook") fail(where(workbook_part), ": the root element is not <workbook>");
    const pugi::xml_node sheets = xml_child(root, "sheets");
    for (pugi::xml_node s = sheets.first_child(); s; s = s.next_sibling()) {
      if (s.type() != pugi::node_element || xml_local(s.name()) != "sheet") continue;
      const std::string name = s.attribute("name").value();
      const std::string id = xml_attribute(s, "id", true).value();
      const xlsx_relationship* rel = nullptr;
      for (const auto& r : rels)
        if (r.id == id) rel = &r;
      if (!rel)
        fail(where(workbook_part), ": sheet '", csv_shown(name), "' refers to relationship '", csv_shown(id),
             "', which ", rels_part, " does not define");
      sheets_.push_back({name, rel->target});
    }
    if (sheets_.empty()) fail(where(workbook_part), ": the workbook lists no sheets");
    for (const auto& r : rels)
      if (r.type.ends_with("/sharedStrings")) shared_part_ = r.target;
    if (shared_part_.empty() && find_part("xl/sharedStrings.xml")) shared_part_ = "xl/sharedStrings.xml";
  }

  const std::vector<xlsx_sheet_entry>& sheets() const { return sheets_; }

  // The rows of the named sheet (the first when name is empty; names match case-insensitively, as Excel
  // treats them).
  csv_rows read(std::string_view name) const {
    const xlsx_sheet_entry* sheet = sheets_.data();
    if (!name.empty()) {
      sheet = nullptr;
      for (const auto& s : sheets_)
        if (!sheet && lowered(s.name) == lowered(name)) sheet = &s;
      if (!sheet) {
        std::string known;
        for (const auto& s : sheets_) known += (known.empty() ? "'" : ", '") + csv_shown(s.name) + "'";
        fail(zip_.origin(), ": no sheet named '", csv_shown(name), "' (sheets: ", known, ")");
      }
    }
    const std::vector<std::string> shared = shared_strings();
    return cells(*sheet, shared);
  }

 private:
  static std::string lowered(std::string_view s) {
    std::string out;
    for (const char c : s) out += csv_lower(c);
    return out;
  }

  std::string where(std::string_view part) const { return str(zip_.origin(), ": ", part); }

  // Part names are case-insensitive in OPC packages; try the exact spelling first.
  std::optional<zip_entry> find_part(std::string_view part) const {
    if (auto e = zip_.find(part)) return e;
    const std::string want = lowered(part);
    std::optional<zip_entry> found;
    zip_.for_each([&](const zip_entry& e) {
      if (!found && lowered(e.name) == want) found = e;
    });
    return found;
  }

  pugi::xml_document load(std::string_view part) const {
    const std::optional<zip_entry> e = find_part(part);
    if (!e) fail(zip_.origin(), ": no part ", part, " in the archive (is it an .xlsx workbook?)");
    if (e->size > xlsx_max_part_bytes)
      fail(where(part), ": ", e->size, " bytes uncompressed is more than the ", xlsx_max_part_bytes,
           " fergen reads from one part");
    const std::vector<std::byte> bytes = zip_.extract(*e, where(part));
    pugi::xml_document doc;
    const pugi::xml_parse_result r =
        doc.load_buffer(bytes.data(), bytes.size(), pugi::parse_default | pugi::parse_ws_pcdata, pugi::encoding_auto);
    if (!r) fail(where(part), ": malformed XML at byte ", r.offset, ": ", r.description());
    if (!doc.document_element()) fail(where(part), ": the XML has no root element");
    return doc;
  }

  std::vector<xlsx_relationship> relationships(std::string_view rels_part, std::string_view source_part) const {
    const pugi::xml_document doc = load(rels_part);
    std::vector<xlsx_relationship> out;
    for (pugi::xml_node r = doc.document_element().first_child(); r; r = r.next_sibling()) {
      if (r.type() != pugi::node_element || xml_local(r.name()) != "Relationship") continue;
      if (std::string_view(r.attribute("TargetMode").value()) == "External") continue;
      out.push_back({r.attribute("Id").value(), r.attribute("Type").value(),
                     opc_resolve_part(source_part, r.attribute("Target").value())});
    }
    return out;
  }

  std::vector<std::string> shared_strings() const {
    std::vector<std::string> out;
    if (shared_part_.empty()) return out;
    const pugi::xml_document doc = load(shared_part_);
    for (pugi::xml_node si = doc.document_element().first_child(); si; si = si.next_sibling())
      if (si.type() == pugi::node_element && xml_local(si.name()) == "si") out.push_back(xlsx_string_item(si));
    return out;
  }

  csv_rows cells(const xlsx_sheet_entry& sheet, const std::vector<std::string>& shared) const {
    const pugi::xml_document doc = load(sheet.part);
    const std::string part = where(sheet.part);
    const pugi::xml_node root = doc.document_element();
    if (xml_local(root.name()) != "worksheet")
      fail(part, ": sheet '", csv_shown(sheet.name), "' is not a worksheet (root element <", csv_shown(root.name()),
           ">)");
    std::vector<xlsx_placed_cell> values;
    std::int64_t row = 0;
    for (pugi::xml_node r = xml_child(root, "sheetData").first_child(); r; r = r.next_sibling()) {
      if (r.type() != pugi::node_element || xml_local(r.name()) != "row") continue;
      if (const pugi::xml_attribute a = r.attribute("r")) {
        const std::string_view text = a.value();
        std::int64_t n = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (ec != std::errc() || end != text.data() + text.size() || n < 1 || n > xlsx_max_rows)
          fail(part, ": row number '", csv_shown(text), "' is not within 1..", xlsx_max_rows);
        row = n;
      } else {
        ++row;  // r is optional: rows then follow one another
      }
      if (row > xlsx_max_rows) fail(part, ": more than ", xlsx_max_rows, " rows");
      std::int64_t column = 0;
      for (pugi::xml_node c = r.first_child(); c; c = c.next_sibling()) {
        if (c.type() != pugi::node_element || xml_local(c.name()) != "c") continue;
        std::int64_t cell_row = row;
        if (const pugi::xml_attribute a = c.attribute("r")) {
          const std::optional<xlsx_cell_position> p = xlsx_parse_reference(a.value());
          if (!p || p->row < 1)
            fail(part, ": '", csv_shown(a.value()), "' is not a cell reference (a column A..XFD, then a row number)");
          if (p->column > xlsx_max_columns)
            fail(part, ": cell reference '", csv_shown(a.value()), "' lies beyond column XFD (", xlsx_max_columns,
                 "), the last of a worksheet");
          if (p->row > xlsx_max_rows)
            fail(part, ": cell reference '", csv_shown(a.value()), "' lies beyond row ", xlsx_max_rows,
                 ", the last of a worksheet");
          cell_row = p->row;
          column = p->column;
        } else {
          ++column;
          if (column > xlsx_max_columns) fail(part, ": row ", row, " has more than ", xlsx_max_columns, " cells");
        }
        std::string value = cell_value(c, shared, part, cell_row, column);
        if (!value.empty()) values.push_back({cell_row, column, std::move(value)});
      }
    }
    return assemble(values, part);
  }

  std::string cell_value(pugi::xml_node c, const std::vector<std::string>& shared, const std::string& part,
                         std::int64_t row, std::int64_t column) const {
    const std::string_view type = c.attribute("t").value();
    auto name = [&] { return str(part, ": cell ", xlsx_column_letters(column), row); };
    if (type == "inlineStr") return xlsx_string_item(xml_child(c, "is"));
    const pugi::xml_node v = xml_child(c, "v");
    if (!v) return {};  // styled but empty, or a formula without a cached result
    const std::string text = xml_text(v);
    if (type == "s") {
      std::size_t index = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), index);
      if (ec != std::errc() || end != text.data() + text.size())
        fail(name(), ": shared string index '", csv_shown(text), "' is not a number");
      if (index >= shared.size())
        fail(name(), ": shared string index ", index, " is out of range (",
             shared_part_.empty() ? std::string("the workbook has no shared strings")
                                  : str(shared_part_, " holds ", shared.size()),
             ")");
      return shared[index];
    }
    if (type == "str" || type == "e" || type == "d") return ooxml_unescape(text);
    if (type == "b") {
      if (text == "1") return "TRUE";
      if (text == "0") return "FALSE";
      fail(name(), ": boolean value '", csv_shown(text), "' is neither 0 nor 1");
    }
    if (type == "n" || type.empty()) {
      if (text.empty()) return {};
      if (std::optional<std::string> n = xlsx_format_number(text)) return std::move(*n);
      fail(name(), ": number value '", csv_shown(text), "' is not a finite number");
    }
    fail(name(), ": unknown cell type '", csv_shown(type), "'");
  }

  // Rows up to the last that holds a value, each as long as its last value: blank rows are empty, gaps
  // inside a row are empty strings. The total is bounded before anything is allocated.
  static csv_rows assemble(std::vector<xlsx_placed_cell>& values, const std::string& part) {
    std::int64_t rows = 0;
    for (const auto& v : values) rows = std::max(rows, v.row);
    std::vector<std::int64_t> width(static_cast<std::size_t>(rows), 0);
    for (const auto& v : values) {
      auto& w = width[static_cast<std::size_t>(v.row - 1)];
      w = std::max(w, v.column);
    }
    std::int64_t total = 0;
    for (const std::int64_t w : width) total += w;  // at most 2^20 rows of at most 2^14 cells: no overflow
    if (total > xlsx_max_cells)
      fail(part, ": the values span ", total, " cells (with the blanks between them), more than the ", xlsx_max_cells,
           " fergen reads from a sheet");
    csv_rows out(static_cast<std::size_t>(rows));
    for (std::size_t r = 0; r < out.size(); ++r) out[r].resize(static_cast<std::size_t>(width[r]));
    // A reference written twice keeps its last value, as Excel does when it repairs such a file.
    for (auto& v : values)
      out[static_cast<std::size_t>(v.row - 1)][static_cast<std::size_t>(v.column - 1)] = std::move(v.value);
    return out;
  }

  zip_reader zip_;
  std::vector<xlsx_sheet_entry> sheets_;
  std::string shared_part_;
};

}  // namespace detail

// The cells of one sheet of an .xlsx workbook held in memory, as rows of text (see the file comment for how
// values are shown). sheet names the sheet (case-insensitive); empty means the first. origin names the
// bytes in messages.
inline csv_rows parse_xlsx_sheet(std::span<const std::byte> bytes, std::string_view origin,
                                 std::string_view sheet = "") {
  return detail::xlsx_workbook(zip_reader(bytes, std::string(origin))).read(sheet);
}

inline csv_rows read_xlsx_sheet(const std::filesystem::path& file, std::string_view sheet = "") {
  return detail::xlsx_workbook(zip_reader(file)).read(sheet);
}

// The sheet names in workbook order.
inline std::vector<std::string> xlsx_sheet_names(const std::filesystem::path& file) {
  const detail::xlsx_workbook book{zip_reader(file)};
  std::vector<std::string> names;
  for (const auto& s : book.sheets()) names.push_back(s.name);
  return names;
}

}  // namespace data
FERGEN_END_NAMESPACE
