// fergen/report/markdown.hpp: GitHub-flavoured markdown tables for the report's tables.md.
#pragma once

#include <fergen/config.hpp>

#include <algorithm>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace report {

// Columns after the first are right-aligned (numbers). Pipes in cells are escaped.
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
  for (std::size_t i = 0; i < header.size(); ++i) out += i == 0 ? " --- |" : " ---: |";
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
