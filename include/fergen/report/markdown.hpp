// fergen/report/markdown.hpp: GitHub-flavoured markdown tables for the report's tables.md.
#pragma once

#include <fergen/config.hpp>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace report {

// The first column and every column with a cell that starts with a letter are left-aligned; the others
// (numbers, "80.00 +- 1.20") right-aligned. Pipes in cells are escaped.
inline std::string markdown_table(const std::vector<std::string>& header,
                                  const std::vector<std::vector<std::string>>& rows) {
  auto cell = [](const std::string& s) {
    std::string out;
    for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
    return out;
  };
  std::string out = "|";
  for (const auto& h : header) {
    out += ' ';
    out += cell(h);
    out += " |";
  }
  out += "\n|";
  auto textual = [&](std::size_t column) {
    if (column == 0) return true;
    return std::any_of(rows.begin(), rows.end(), [&](const std::vector<std::string>& row) {
      return column < row.size() && !row[column].empty() && std::isalpha(static_cast<unsigned char>(row[column][0]));
    });
  };
  for (std::size_t i = 0; i < header.size(); ++i) out += textual(i) ? " --- |" : " ---: |";
  out += "\n";
  for (const auto& row : rows) {
    out += "|";
    for (std::size_t i = 0; i < header.size(); ++i) {
      out += ' ';
      if (i < row.size()) out += cell(row[i]);
      out += " |";
    }
    out += "\n";
  }
  return out;
}

}  // namespace report
FERGEN_END_NAMESPACE
