// fergen/report/confusion_figure.hpp: a confusion matrix as a PNG figure: counts in cells shaded by the
// fraction of their true class (so a rare class's errors show as clearly as a common one's).
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/report/canvas.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace report {

// confusion[t][p]: how many images of true class t were predicted as p.
inline canvas confusion_figure(const std::vector<std::vector<std::int64_t>>& confusion,
                               const std::vector<std::string>& class_names, const std::string& title) {
  const auto k = static_cast<std::int64_t>(class_names.size());
  require(k > 0 && confusion.size() == class_names.size(), "confusion_figure: ", confusion.size(), " rows for ", k,
          " classes");
  for (const auto& row : confusion)
    require(row.size() == class_names.size(), "confusion_figure: a row has ", row.size(), " columns for ", k,
            " classes");
  constexpr std::int64_t cell_h = 28, pad = 8;
  std::int64_t label_w = 0;
  for (const auto& n : class_names) label_w = std::max(label_w, canvas::text_width(n));
  // Columns wide enough for the class names (up to 12 characters), and for 5-digit counts.
  const std::int64_t cell_w = std::clamp<std::int64_t>(label_w + 8, 48, 12 * canvas::glyph_width + 8);
  label_w = std::min<std::int64_t>(label_w, 16 * canvas::glyph_width);
  const std::int64_t left = pad + canvas::glyph_height + 4 + label_w + 6;  // "true" axis label, then class names
  const std::int64_t top = pad + canvas::glyph_height + 6 + canvas::glyph_height + 4 + canvas::glyph_height + 4;
  const std::int64_t width = std::max(left + k * cell_w + pad, pad + canvas::text_width(title) + pad);
  canvas c(width, top + k * cell_h + pad);

  c.text(pad, pad, title);
  const std::int64_t axis_y = pad + canvas::glyph_height + 6;
  c.text_centered(left, axis_y, k * cell_w, canvas::glyph_height, "predicted");
  for (std::int64_t p = 0; p < k; ++p)
    c.text_centered(left + p * cell_w, axis_y + canvas::glyph_height + 4, cell_w, canvas::glyph_height,
                    class_names[static_cast<std::size_t>(p)]);
  // "true", written downwards one letter a line beside the row labels.
  const std::string axis = "true";
  for (std::size_t i = 0; i < axis.size(); ++i)
    c.text(pad, top + (k * cell_h) / 2 - 2 * canvas::glyph_height + static_cast<std::int64_t>(i) * canvas::glyph_height,
           std::string(1, axis[i]));

  constexpr rgb low{247, 251, 255}, high{8, 69, 148};
  for (std::int64_t t = 0; t < k; ++t) {
    const auto& row = confusion[static_cast<std::size_t>(t)];
    std::int64_t total = 0;
    for (auto v : row) total += v;
    std::string name = class_names[static_cast<std::size_t>(t)];
    if (canvas::text_width(name) > label_w) name.resize(static_cast<std::size_t>(label_w / canvas::glyph_width));
    c.text(left - 6 - canvas::text_width(name), top + t * cell_h + (cell_h - canvas::glyph_height) / 2, name);
    for (std::int64_t p = 0; p < k; ++p) {
      const std::int64_t v = row[static_cast<std::size_t>(p)];
      const double fraction = total > 0 ? static_cast<double>(v) / static_cast<double>(total) : 0.0;
      const std::int64_t x = left + p * cell_w, y = top + t * cell_h;
      c.fill_rect(x, y, cell_w - 1, cell_h - 1, mix(low, high, fraction));
      if (t == p) {  // the diagonal gets a frame, so correct predictions stand out even when light
        c.fill_rect(x, y, cell_w - 1, 1, black);
        c.fill_rect(x, y + cell_h - 2, cell_w - 1, 1, black);
      }
      c.text_centered(x, y, cell_w - 1, cell_h - 1, std::to_string(v), fraction > 0.55 ? white : black);
    }
  }
  return c;
}

}  // namespace report
FERGEN_END_NAMESPACE
