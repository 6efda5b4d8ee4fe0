// fergen/data/csv.hpp: comma-separated values (RFC 4180), the format of coding-sheet exports and of the
// manifests that give subject and clip to the files of an image folder; plus csv_table, which finds the
// columns of such a sheet by their header names instead of by position.
//
// Reading accepts what spreadsheet programs and Python's csv module write: quoted fields with doubled
// quotes and embedded line breaks, CRLF, LF or CR line ends, a UTF-8 byte-order mark, a missing or present
// final line end, empty fields. Writing produces RFC 4180 (CRLF) that those programs read back unchanged.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/npy.hpp>  // detail::read_file and detail::atomic_file, shared by every file format

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace data {

// Rows of fields. A blank line is a row with no fields, so that text and rows convert both ways without
// loss (a row holding one empty field is written as "" to keep it apart from a blank line, as Python does).
using csv_rows = std::vector<std::vector<std::string>>;

namespace detail {

inline constexpr std::string_view csv_utf8_bom = "\xEF\xBB\xBF";

// A field as it may appear in a message: bounded, with control characters made visible.
inline std::string csv_shown(std::string_view s, std::size_t limit = 60) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    out += c < 0x20 || c == 0x7F ? '?' : static_cast<char>(c);
  }
  if (s.size() > limit) out += "...";
  return out;
}

class csv_parser {
 public:
  csv_parser(std::string_view text, std::string_view origin) : text_(text), origin_(origin) {
    if (text_.starts_with(csv_utf8_bom)) text_.remove_prefix(csv_utf8_bom.size());
  }

  csv_rows parse() {
    csv_rows rows;
    while (pos_ < text_.size()) rows.push_back(record());
    return rows;
  }

 private:
  bool at_line_end() const { return pos_ < text_.size() && (text_[pos_] == '\n' || text_[pos_] == '\r'); }

  // Consumes one line end (CRLF counts once) and starts the next line.
  void take_line_end() {
    if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
    line_start_ = pos_;
  }

  std::size_t column() const { return pos_ - line_start_ + 1; }

  std::vector<std::string> record() {
    std::vector<std::string> fields;
    if (at_line_end()) {  // a blank line
      take_line_end();
      return fields;
    }
    for (;;) {
      fields.push_back(pos_ < text_.size() && text_[pos_] == '"' ? quoted() : unquoted());
      if (pos_ >= text_.size()) return fields;
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      take_line_end();  // quoted() and unquoted() stop only at ',', a line end or the end of the text
      return fields;
    }
  }

  std::string unquoted() {
    const std::size_t start = pos_;
    // A quote inside an unquoted field is not RFC 4180, but spreadsheet programs read it literally; so do we.
    while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n' && text_[pos_] != '\r') ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  std::string quoted() {
    const std::size_t open_line = line_, open_column = column();
    ++pos_;
    std::string value;
    for (;;) {
      if (pos_ >= text_.size())
        fail(origin_, ": line ", open_line, ": unterminated quoted field (the quote at column ", open_column,
             " is never closed; the text ends at line ", line_, ")");
      const char c = text_[pos_];
      if (c == '"') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {  // a doubled quote is one quote
          value += '"';
          pos_ += 2;
          continue;
        }
        ++pos_;
        break;
      }
      if (c == '\n' || c == '\r') {  // a line break inside quotes belongs to the value, as written
        const std::size_t from = pos_;
        take_line_end();
        value.append(text_.substr(from, pos_ - from));
        continue;
      }
      value += c;
      ++pos_;
    }
    // Text between the closing quote and the separator means the quoting is broken (an unescaped quote
    // inside a quoted field); guessing what was meant would shift every later column of the row.
    if (pos_ < text_.size() && text_[pos_] != ',' && !at_line_end()) {
      const std::string_view rest = text_.substr(pos_, text_.find_first_of("\r\n", pos_) - pos_);
      fail(origin_, ": line ", line_, ", column ", column(), ": '", csv_shown(rest, 20),
           "' follows the closing quote of a field; a quote inside a quoted field must be doubled (\"\")");
    }
    return value;
  }

  std::string_view text_;
  std::string_view origin_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  std::size_t line_start_ = 0;
};

inline bool csv_needs_quotes(std::string_view field) {
  return field.find_first_of(",\"\r\n") != std::string_view::npos;
}

inline bool csv_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

inline char csv_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace detail

// Parses CSV text. origin names it in messages; an unterminated quote is an error naming the line where the
// field opened.
inline csv_rows parse_csv(std::string_view text, std::string_view origin) {
  return detail::csv_parser(text, origin).parse();
}

inline csv_rows read_csv(const std::filesystem::path& file) {
  const std::vector<std::byte> bytes = fergen::detail::read_file(file);
  return parse_csv(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), file.string());
}

// RFC 4180 text: CRLF after every row; fields holding a comma, quote, CR or LF are quoted with inner quotes
// doubled.
inline std::string format_csv(const csv_rows& rows) {
  std::string out;
  for (const auto& row : rows) {
    // A first field that starts with a byte-order mark would lose it on reading (the mark is dropped
    // there); quoting keeps it, as the text then starts with the quote.
    const bool first_row = out.empty();
    if (row.size() == 1 && row.front().empty()) {
      out += "\"\"";
    } else {
      for (std::size_t i = 0; i < row.size(); ++i) {
        if (i > 0) out += ',';
        const std::string& field = row[i];
        const bool bom = first_row && i == 0 && field.starts_with(detail::csv_utf8_bom);
        if (!bom && !detail::csv_needs_quotes(field)) {
          out += field;
          continue;
        }
        out += '"';
        for (const char c : field) {
          if (c == '"') out += '"';
          out += c;
        }
        out += '"';
      }
    }
    out += "\r\n";
  }
  return out;
}

// Atomic, like write_npy: the file is the old one or the complete new one.
inline void write_csv(const std::filesystem::path& file, const csv_rows& rows) {
  const std::string text = format_csv(rows);
  fergen::detail::atomic_file out(file);
  out.write(std::as_bytes(std::span<const char>(text.data(), text.size())));
  out.commit();
}

// The key a header name is matched by: ASCII case folded and all white space removed, so "Estimated
// Emotion", " estimated emotion " and "EstimatedEmotion" name the same column.
inline std::string header_key(std::string_view name) {
  std::string key;
  for (const char c : name)
    if (!detail::csv_space(c)) key += detail::csv_lower(c);
  return key;
}

// Rows with a header: columns are found by name (header_key), cells read by row and column. The header is
// the first row that is not blank; the rows after it are the data rows. Row numbers in messages count
// records of the file from 1, which for a spreadsheet or its CSV export is the sheet's row number.
class csv_table {
 public:
  csv_table() = default;
  csv_table(csv_rows rows, std::string origin) : rows_(std::move(rows)), origin_(std::move(origin)) {
    while (header_ < rows_.size() && blank_row(rows_[header_])) ++header_;
    require(header_ < rows_.size(), origin_, ": no header row (the table is empty)");
  }

  static csv_table read(const std::filesystem::path& file) { return csv_table(read_csv(file), file.string()); }

  const std::string& origin() const { return origin_; }
  const std::vector<std::string>& header() const { return rows_[header_]; }
  // 1-based row number of the header.
  std::int64_t header_row() const { return static_cast<std::int64_t>(header_) + 1; }

  // The column whose header matches name, or nothing. Two matching columns are an error: which one the
  // caller meant cannot be known.
  std::optional<std::size_t> find(std::string_view name) const {
    const std::string key = header_key(name);
    std::optional<std::size_t> found;
    for (std::size_t c = 0; c < header().size(); ++c) {
      if (header_key(header()[c]) != key) continue;
      if (found)
        fail(origin_, ": row ", header_row(), ": columns ", *found + 1, " and ", c + 1, " are both named '",
             detail::csv_shown(name), "' (header: ", header_text(), ")");
      found = c;
    }
    return found;
  }

  // The column named name; a missing one is an error listing the header.
  std::size_t column(std::string_view name) const { return columns({name}).front(); }

  // Several required columns at once; the error names every missing one.
  std::vector<std::size_t> columns(std::initializer_list<std::string_view> names) const {
    std::vector<std::size_t> out;
    std::string missing;
    for (const std::string_view name : names) {
      if (const auto c = find(name)) {
        out.push_back(*c);
      } else {
        missing += (missing.empty() ? "'" : ", '") + std::string(name) + "'";
      }
    }
    if (!missing.empty())
      fail(origin_, ": row ", header_row(), ": no column ", missing, " in the header (", header_text(), ")");
    return out;
  }

  // Data rows (after the header).
  std::size_t size() const { return rows_.size() - header_ - 1; }
  const std::vector<std::string>& row(std::size_t i) const { return rows_.at(header_ + 1 + i); }
  // 1-based row number of data row i in the file.
  std::int64_t row_number(std::size_t i) const { return static_cast<std::int64_t>(header_ + 2 + i); }
  // The cell, or "" when the row is shorter (blank trailing cells are often left out).
  std::string_view cell(std::size_t i, std::size_t col) const {
    const auto& r = row(i);
    return col < r.size() ? std::string_view(r[col]) : std::string_view();
  }
  bool blank(std::size_t i) const { return blank_row(row(i)); }

  // "'Subject', 'Filename', ..." for messages.
  std::string header_text() const {
    std::string s;
    for (const auto& h : header()) s += (s.empty() ? "'" : ", '") + detail::csv_shown(h) + "'";
    return s.empty() ? std::string("empty") : s;
  }

 private:
  static bool blank_row(const std::vector<std::string>& r) {
    for (const auto& f : r)
      for (const char c : f)
        if (!detail::csv_space(c)) return false;
    return true;
  }

  csv_rows rows_;
  std::string origin_;
  std::size_t header_ = 0;
};

}  // namespace data
FERGEN_END_NAMESPACE
