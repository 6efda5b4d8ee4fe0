// Tests of report/svg_chart.hpp: where the points of a line chart land on a linear and on a log axis (read back
// from the SVG's polyline), the tick ladders, points a log axis cannot draw, and bad options.
#include <fergen/report/svg_chart.hpp>

#include "support/errors.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using namespace fergen;
using fergen::testing::contains;
using fergen::testing::error_of;

namespace {

// The (x, y) pixel coordinates of the first polyline in an SVG.
std::vector<std::pair<double, double>> polyline_points(const std::string& svg) {
  const std::string key = "points=\"";
  const std::size_t begin = svg.find("<polyline");
  REQUIRE(begin != std::string::npos);
  const std::size_t from = svg.find(key, begin) + key.size();
  std::istringstream in(svg.substr(from, svg.find('"', from) - from));
  std::vector<std::pair<double, double>> out;
  double x = 0, y = 0;
  char comma = 0;
  while (in >> x >> comma >> y) out.emplace_back(x, y);
  return out;
}

report::series curve(std::vector<std::pair<double, double>> points) { return {"loss", std::move(points)}; }

}  // namespace

TEST_CASE("log_ticks: 1-2-5 inside two decades, decades beyond") {
  using report::detail::log_ticks;
  const std::vector<double> short_range = log_ticks(0.02, 1.5);
  const std::vector<double> want_short{0.02, 0.05, 0.1, 0.2, 0.5, 1.0};
  REQUIRE(short_range.size() == want_short.size());
  for (std::size_t i = 0; i < want_short.size(); ++i) CHECK(short_range[i] == doctest::Approx(want_short[i]));

  const std::vector<double> long_range = log_ticks(3e-5, 2);
  const std::vector<double> want_long{1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10};
  REQUIRE(long_range.size() == want_long.size());
  for (std::size_t i = 0; i < want_long.size(); ++i) CHECK(long_range[i] == doctest::Approx(want_long[i]));

  const std::vector<double> very_long = log_ticks(2e-9, 500);  // 12 decades: every second one
  const std::vector<double> want_very_long{1e-8, 1e-6, 1e-4, 1e-2, 1, 100};
  REQUIRE(very_long.size() == want_very_long.size());
  for (std::size_t i = 0; i < want_very_long.size(); ++i) CHECK(very_long[i] == doctest::Approx(want_very_long[i]));

  CHECK(log_ticks(0.31, 0.33).size() >= 2);  // inside one decade: still a scale
}

TEST_CASE("svg_line_chart: a log axis puts each factor of ten the same height apart; a linear one does not") {
  const auto points = curve({{0, 1.0}, {1, 0.1}, {2, 0.01}, {3, 0.001}});
  const auto log_axis = polyline_points(report::svg_line_chart({points}, {.title = "t", .log_y = true}));
  REQUIRE(log_axis.size() == 4);
  const double decade = log_axis[1].second - log_axis[0].second;
  CHECK(decade > 10);  // falling values go down the page
  for (std::size_t i = 1; i < 4; ++i) CHECK(log_axis[i].second - log_axis[i - 1].second == doctest::Approx(decade).epsilon(0.01));
  for (std::size_t i = 1; i < 4; ++i) CHECK(log_axis[i].first > log_axis[i - 1].first);

  const auto linear = polyline_points(report::svg_line_chart({points}, {.title = "t"}));
  REQUIRE(linear.size() == 4);
  // 1 -> 0.1 is 90 % of the range; 0.1 -> 0.001 is squeezed into the last tenth: the flat line at the bottom.
  CHECK(linear[1].second - linear[0].second > 8 * (linear[3].second - linear[1].second));
}

TEST_CASE("svg_line_chart: a log axis skips values it cannot draw, and draws the rest") {
  const auto points = curve({{0, 0.5}, {1, 0.0}, {2, -1.0}, {3, 0.05}, {4, std::nan("")}});
  const std::string svg = report::svg_line_chart({points}, {.title = "t", .log_y = true});
  CHECK(polyline_points(svg).size() == 2);
  CHECK(contains(svg, ">0.05<"));  // a tick at the lowest drawn value's 1-2-5 step
  CHECK(contains(svg, ">0.5<"));

  const std::string nothing = report::svg_line_chart({curve({{0, 0.0}})}, {.title = "t", .log_y = true});
  CHECK(contains(nothing, "no data"));
}

TEST_CASE("svg_line_chart: bad options are errors naming them") {
  CHECK(contains(error_of([] { (void)report::svg_line_chart({}, {.title = "t", .y_from_zero = true, .log_y = true}); }),
                 "log axis cannot start from zero"));
  CHECK(contains(error_of([] { (void)report::svg_line_chart({}, {.title = "t", .width = 100}); }), "too small"));
}
