// fergen/report/svg_chart.hpp: line charts as SVG text (loss and accuracy curves), for embedding in HTML; the
// y axis linear or logarithmic (a diffusion loss falls by orders of magnitude in its first steps, and on a linear
// axis all that follows is a flat line at the bottom).
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/report/html.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace report {

struct series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y); non-finite points are skipped
};

struct chart_options {
  std::string title{};
  std::string x_label{};
  std::string y_label{};
  int width = 560;
  int height = 300;
  bool y_from_zero = false;  // linear axis only
  bool log_y = false;        // y on a log10 axis; points with y <= 0 cannot be drawn there and are skipped
};

namespace detail {

// Tick positions on a 1-2-5 ladder, about `target` of them, covering [lo, hi].
inline std::vector<double> nice_ticks(double lo, double hi, int target = 5) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push_back(t);
  return ticks;
}

// Tick positions on a log axis covering [lo, hi] (lo > 0): 1-2-5 in each decade when the range spans at most
// two decades, otherwise every decade (every second or fifth one on a very long range). Always at least two, so
// that a range inside one decade still shows a scale.
inline std::vector<double> log_ticks(double lo, double hi) {
  const int first = static_cast<int>(std::floor(std::log10(lo))), last = static_cast<int>(std::ceil(std::log10(hi)));
  std::vector<double> ticks;
  if (std::log10(hi / lo) <= 2) {
    for (int e = first; e <= last; ++e)
      for (double m : {1.0, 2.0, 5.0})
        if (const double t = m * std::pow(10.0, e); t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) ticks.push_back(t);
  } else {
    const int decades = last - first, stride = decades <= 6 ? 1 : decades <= 12 ? 2 : 5;
    for (int e = first; e <= last; ++e)
      if (e % stride == 0) ticks.push_back(std::pow(10.0, e));
  }
  if (ticks.size() < 2) ticks = {std::pow(10.0, first), std::pow(10.0, last == first ? first + 1 : last)};
  return ticks;
}

inline std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", std::abs(v) < 1e-12 ? 0.0 : v);
  return buffer;
}

// A coordinate or a value label: one decimal.
inline std::string coordinate(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

// What every chart starts with: the page, a white background and the title.
inline std::string svg_begin(const chart_options& o, double left) {
  const std::string w = std::to_string(o.width), h = std::to_string(o.height);
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + w + "\" height=\"" + h + "\" viewBox=\"0 0 " + w + " " +
         h + "\" font-family=\"sans-serif\" font-size=\"11\"><rect width=\"100%\" height=\"100%\" fill=\"white\"/>" +
         "<text x=\"" + coordinate(left) + "\" y=\"18\" font-size=\"13\">" + escape_html(o.title) + "</text>";
}

// Light horizontal lines at the y ticks, each labelled on the left.
template <class Y>
void horizontal_grid(std::string& svg, const std::vector<double>& ticks, double left, double right, Y py) {
  for (double t : ticks) {
    svg += "<line x1=\"" + coordinate(left) + "\" x2=\"" + coordinate(right) + "\" y1=\"" + coordinate(py(t)) +
           "\" y2=\"" + coordinate(py(t)) + "\" stroke=\"#e0e0e0\"/>";
    svg += "<text x=\"" + coordinate(left - 6) + "\" y=\"" + coordinate(py(t) + 4) + "\" text-anchor=\"end\">" +
           number(t) + "</text>";
  }
}

}  // namespace detail

inline constexpr const char* chart_colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                              "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};

// A self-contained <svg> element: axes with 1-2-5 ticks (decades on a log axis), one polyline per series, a legend.
inline std::string svg_line_chart(const std::vector<series>& lines, const chart_options& o) {
  require(o.width >= 200 && o.height >= 150, "svg_line_chart: ", o.width, " x ", o.height, " is too small");
  require(!(o.log_y && o.y_from_zero), "svg_line_chart: a log axis cannot start from zero (log_y with y_from_zero)");
  // The points that can be drawn: finite, and above zero on a log axis.
  auto drawable = [&](double x, double y) { return std::isfinite(x) && std::isfinite(y) && (!o.log_y || y > 0); };
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const auto& s : lines)
    for (const auto& [x, y] : s.points)
      if (drawable(x, y)) {
        x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x), y_lo = std::min(y_lo, y), y_hi = std::max(y_hi, y);
      }
  const bool empty = !std::isfinite(x_lo);
  if (empty) x_lo = 0, x_hi = 1, y_lo = o.log_y ? 0.1 : 0, y_hi = 1;
  if (o.y_from_zero) y_lo = std::min(y_lo, 0.0);
  if (x_hi == x_lo) x_hi = x_lo + 1;
  if (y_hi == y_lo) y_hi = o.log_y ? y_lo * 10 : y_lo + (y_lo == 0 ? 1 : std::abs(y_lo) * 0.1);
  const auto x_ticks = detail::nice_ticks(x_lo, x_hi);
  const auto y_ticks = o.log_y ? detail::log_ticks(y_lo, y_hi) : detail::nice_ticks(y_lo, y_hi);
  y_lo = std::min(y_lo, y_ticks.front()), y_hi = std::max(y_hi, y_ticks.back());

  const double left = 60, right = o.width - 150.0, top = 30, bottom = o.height - 45.0;
  // Where y lies between the axis's ends: by value, or by its logarithm.
  auto axis = [&](double y) { return o.log_y ? std::log10(y) : y; };
  const double a_lo = axis(y_lo), a_hi = axis(y_hi);
  auto px = [&](double x) { return left + (x - x_lo) / (x_hi - x_lo) * (right - left); };
  auto py = [&](double y) { return bottom - (axis(y) - a_lo) / (a_hi - a_lo) * (bottom - top); };
  const auto fmt = detail::coordinate;

  std::string svg = detail::svg_begin(o, left);
  detail::horizontal_grid(svg, y_ticks, left, right, py);
  for (double t : x_ticks) {
    if (t < x_lo - 1e-12 || t > x_hi + 1e-12) continue;
    svg += "<text x=\"" + fmt(px(t)) + "\" y=\"" + fmt(bottom + 16) + "\" text-anchor=\"middle\">" +
           detail::number(t) + "</text>";
  }
  svg += "<line x1=\"" + fmt(left) + "\" x2=\"" + fmt(right) + "\" y1=\"" + fmt(bottom) + "\" y2=\"" + fmt(bottom) +
         "\" stroke=\"black\"/>";
  svg += "<line x1=\"" + fmt(left) + "\" x2=\"" + fmt(left) + "\" y1=\"" + fmt(top) + "\" y2=\"" + fmt(bottom) +
         "\" stroke=\"black\"/>";
  svg += "<text x=\"" + fmt((left + right) / 2) + "\" y=\"" + fmt(o.height - 8.0) + "\" text-anchor=\"middle\">" +
         escape_html(o.x_label) + "</text>";
  svg += "<text transform=\"translate(14 " + fmt((top + bottom) / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
         escape_html(o.y_label) + "</text>";
  if (empty)
    svg += "<text x=\"" + fmt((left + right) / 2) + "\" y=\"" + fmt((top + bottom) / 2) +
           "\" text-anchor=\"middle\" fill=\"#888\">no data</text>";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const char* color = chart_colors[i % std::size(chart_colors)];
    std::string pts;
    for (const auto& [x, y] : lines[i].points)
      if (drawable(x, y)) pts += fmt(px(x)) + "," + fmt(py(y)) + " ";
    if (!pts.empty())
      svg += "<polyline fill=\"none\" stroke=\"" + std::string(color) + "\" stroke-width=\"1.5\" points=\"" + pts +
             "\"/>";
    const double ly = top + 14.0 * static_cast<double>(i);
    svg += "<line x1=\"" + fmt(right + 10) + "\" x2=\"" + fmt(right + 28) + "\" y1=\"" + fmt(ly) + "\" y2=\"" +
           fmt(ly) + "\" stroke=\"" + color + "\" stroke-width=\"2\"/>";
    svg += "<text x=\"" + fmt(right + 32) + "\" y=\"" + fmt(ly + 4) + "\">" + escape_html(lines[i].name) + "</text>";
  }
  svg += "</svg>";
  return svg;
}

struct bar_group {
  std::string category;        // e.g. a setting
  std::vector<double> values;  // one per series; NaN leaves a gap
};

// Grouped vertical bars (one group per category, one bar per series) on a 0-based axis, each bar labelled
// with its value: how the report shows the study's protocol next to an honest one.
inline std::string svg_grouped_bars(const std::vector<bar_group>& groups, const std::vector<std::string>& series_names,
                                    const chart_options& o, double y_max = 0, const std::string& value_suffix = "") {
  require(o.width >= 200 && o.height >= 150, "svg_grouped_bars: ", o.width, " x ", o.height, " is too small");
  double top_value = y_max;
  for (const auto& g : groups)
    for (double v : g.values)
      if (std::isfinite(v)) top_value = std::max(top_value, v);
  if (!(top_value > 0)) top_value = 1;
  const auto ticks = detail::nice_ticks(0, top_value);
  top_value = std::max(top_value, ticks.back());
  const double left = 60, right = o.width - 150.0, top = 30, bottom = o.height - 45.0;
  auto py = [&](double y) { return bottom - y / top_value * (bottom - top); };
  const auto fmt = detail::coordinate;
  std::string svg = detail::svg_begin(o, left);
  detail::horizontal_grid(svg, ticks, left, right, py);
  const double group_w = groups.empty() ? 1.0 : (right - left) / static_cast<double>(groups.size());
  const double bar_w = group_w * 0.8 / static_cast<double>(std::max<std::size_t>(series_names.size(), 1));
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const double x0 = left + group_w * static_cast<double>(g) + group_w * 0.1;
    for (std::size_t s = 0; s < groups[g].values.size() && s < series_names.size(); ++s) {
      const double v = groups[g].values[s];
      if (!std::isfinite(v)) continue;
      const double x = x0 + bar_w * static_cast<double>(s);
      svg += "<rect x=\"" + fmt(x) + "\" y=\"" + fmt(py(v)) + "\" width=\"" + fmt(bar_w - 2) + "\" height=\"" +
             fmt(bottom - py(v)) + "\" fill=\"" + chart_colors[s % std::size(chart_colors)] + "\"/>";
      svg += "<text x=\"" + fmt(x + (bar_w - 2) / 2) + "\" y=\"" + fmt(py(v) - 3) +
             "\" text-anchor=\"middle\" font-size=\"10\">" + fmt(v) + escape_html(value_suffix) + "</text>";  // one decimal
    }
    svg += "<text x=\"" + fmt(left + group_w * (static_cast<double>(g) + 0.5)) + "\" y=\"" + fmt(bottom + 16) +
           "\" text-anchor=\"middle\">" + escape_html(groups[g].category) + "</text>";
  }
  svg += "<line x1=\"" + fmt(left) + "\" x2=\"" + fmt(right) + "\" y1=\"" + fmt(bottom) + "\" y2=\"" + fmt(bottom) +
         "\" stroke=\"black\"/>";
  svg += "<text transform=\"translate(14 " + fmt((top + bottom) / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
         escape_html(o.y_label) + "</text>";
  for (std::size_t s = 0; s < series_names.size(); ++s) {
    const double ly = top + 14.0 * static_cast<double>(s);
    svg += "<rect x=\"" + fmt(right + 10) + "\" y=\"" + fmt(ly - 8) + "\" width=\"12\" height=\"10\" fill=\"" +
           chart_colors[s % std::size(chart_colors)] + "\"/>";
    svg += "<text x=\"" + fmt(right + 26) + "\" y=\"" + fmt(ly + 1) + "\">" + escape_html(series_names[s]) + "</text>";
  }
  svg += "</svg>";
  return svg;
}

}  // namespace report
FERGEN_END_NAMESPACE
