// fergen/report/html.hpp: the small pieces of HTML a self-contained report is built from.
#pragma once

#include <fergen/config.hpp>

#include <string>
#include <string_view>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace report {

// Text as HTML character data or a double-quoted attribute value.
inline std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// A table: header cells, then rows of cells. Cells are text (escaped here); `numeric` right-aligns all but
// the first column.
inline std::string html_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                              bool numeric = true, std::string_view css_class = {}) {
  std::string out = "<table";
  if (!css_class.empty()) out += " class=\"" + escape_html(css_class) + "\"";
  out += "><thead><tr>";
  for (const auto& h : header) out += "<th>" + escape_html(h) + "</th>";
  out += "</tr></thead><tbody>";
  for (const auto& row : rows) {
    out += "<tr>";
    for (std::size_t i = 0; i < row.size(); ++i)
      out += std::string(numeric && i > 0 ? "<td class=\"num\">" : "<td>") + escape_html(row[i]) + "</td>";
    out += "</tr>";
  }
  return out + "</tbody></table>";
}

}  // namespace report
FERGEN_END_NAMESPACE
