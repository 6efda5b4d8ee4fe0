// fergen/core/key_value.hpp: the one text format of fergen's run files (a checkpoint's network, process and
// trainer, a generation's sampler): "key=value" lines. Values are written so that they read back exactly,
// doubles as the shortest text that round-trips (std::to_chars), so a resumed run sees the options it was
// started with, bit for bit. Lists are comma-separated, and split_list / parse_list are the one list parser,
// which the tool's list options (--channel-mult, --attention, --counts, --settings, ...) use too.
#pragma once

#include <fergen/core/error.hpp>

#include <algorithm>
#include <charconv>
#include <concepts>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE

// ---- values ------------------------------------------------------------------------------------------------

// Integers in decimal, booleans as 1 / 0 (what checkpoints have always held), doubles in the shortest form that
// reads back to the same double: 0.1 is "0.1", 1.23456789e-4 is "0.000123456789", never a 6-digit rounding.
template <class T>
std::string value_text(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? "1" : "0";
  } else if constexpr (std::is_arithmetic_v<T>) {
    char buffer[64];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
    if (ec != std::errc()) fail("value_text: cannot format a number");  // 64 characters hold any double
    return std::string(buffer, end);
  } else {
    return std::string(v);
  }
}

template <class T>
std::string list_text(const std::vector<T>& values) {
  std::string s;
  for (std::size_t i = 0; i < values.size(); ++i) s += (i ? "," : "") + value_text(values[i]);
  return s;
}

// What a value of T is called in messages: "'x' is not an integer".
template <class T>
constexpr std::string_view value_kind() {
  if constexpr (std::is_same_v<T, bool>) return "0 or 1";
  else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) return "a non-negative integer";
  else if constexpr (std::is_integral_v<T>) return "an integer";
  else return "a number";
}

// The value the whole text spells, or nothing: no sign but '-', no spaces, no trailing characters.
template <class T>
std::optional<T> parse_value(std::string_view text) {
  if constexpr (std::is_same_v<T, bool>) {
    if (text == "1" || text == "true") return true;
    if (text == "0" || text == "false") return false;
    return std::nullopt;
  } else if constexpr (std::is_arithmetic_v<T>) {
    T v{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return v;
  } else {
    return T(text);
  }
}

// ---- lists -------------------------------------------------------------------------------------------------

// "a,b,c" as its items. The empty text is the empty list; an empty item ("1,,2", "1,") is an error naming
// `what` (the option or key), since it is always a typing slip.
inline std::vector<std::string_view> split_list(std::string_view text, std::string_view what) {
  std::vector<std::string_view> out;
  if (text.empty()) return out;
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item = text.substr(start, comma - start);
    require(!item.empty(), what, what.empty() ? "" : ": ", "empty item in the list '", text, "'");
    out.push_back(item);
    start = comma + 1;
  }
  return out;
}

// The items of a list as T: "what: 'x' is not an integer".
template <class T>
std::vector<T> parse_list(std::string_view text, std::string_view what) {
  std::vector<T> out;
  for (const std::string_view item : split_list(text, what)) {
    const std::optional<T> v = parse_value<T>(item);
    require(v.has_value(), what, ": '", item, "' is not ", value_kind<T>());
    out.push_back(*v);
  }
  return out;
}

// ---- key=value text ------------------------------------------------------------------------------------------

using key_value_list = std::vector<std::pair<std::string, std::string>>;  // in the order written
using key_value_map = std::map<std::string, std::string>;                // as read

// Builds the ordered entries of one record: writer.add("lr", 1e-4).add("channel_mult", std::vector{1, 2}).
class key_value_writer {
 public:
  template <class T>
  key_value_writer& add(std::string key, const T& value) {
    if constexpr (requires { value.begin(); } && !std::is_convertible_v<T, std::string_view>) {
      entries_.emplace_back(std::move(key), list_text(value));
    } else {
      entries_.emplace_back(std::move(key), value_text(value));
    }
    return *this;
  }
  key_value_list entries() const { return entries_; }

 private:
  key_value_list entries_;
};

inline std::string key_value_text(const key_value_list& entries) {
  std::string s;
  for (const auto& [k, v] : entries) s += k + "=" + v + "\n";
  return s;
}

// The inverse of key_value_text. Blank lines are skipped; a line without "key=" is an error naming `origin`.
inline key_value_map parse_key_value_text(std::string_view text, std::string_view origin) {
  key_value_map out;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    const std::size_t eq = line.find('=');
    require(eq != std::string_view::npos && eq > 0, origin, ": a line without key=value: '", line, "'");
    out[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  return out;
}

// Two values are the same when their texts are, or when both are numbers (or lists of numbers) of equal value:
// "0.0001" written by an older fergen and "1e-04" written now are one learning rate.
inline bool same_value(std::string_view a, std::string_view b) {
  if (a == b) return true;
  auto numbers = [](std::string_view text) -> std::optional<std::vector<double>> {
    std::vector<double> out;
    if (text.empty()) return out;
    for (std::size_t start = 0; start <= text.size();) {
      const std::size_t comma = std::min(text.find(',', start), text.size());
      const std::optional<double> v = parse_value<double>(text.substr(start, comma - start));
      if (!v) return std::nullopt;
      out.push_back(*v);
      start = comma + 1;
    }
    return out;
  };
  const auto x = numbers(a), y = numbers(b);
  return x && y && *x == *y;
}

// Reads one record with typed getters; every message names the origin (a file), the record ("UNet
// configuration") and the key.
class key_value_reader {
 public:
  key_value_reader(const key_value_map& entries, std::string origin, std::string what)
      : entries_(&entries), origin_(std::move(origin)), what_(std::move(what)) {}

  bool has(std::string_view key) const { return entries_->find(std::string(key)) != entries_->end(); }

  const std::string& text(std::string_view key) const {
    const auto it = entries_->find(std::string(key));
    if (it == entries_->end()) fail(origin_, ": the ", what_, " has no '", key, "'");
    return it->second;
  }

  // A key that must be there.
  template <class T>
  T get(std::string_view key) const {
    const std::string& t = text(key);
    const std::optional<T> v = parse_value<T>(t);
    if (!v) fail(origin_, ": ", what_, " '", key, "' = '", t, "' is not ", value_kind<T>());
    return *v;
  }

  // A key that may be absent (a file written before it existed): `out` keeps its value then.
  template <class T>
  void read(std::string_view key, T& out) const {
    if (has(key)) out = get<T>(key);
  }

  template <class T>
  std::vector<T> list(std::string_view key) const {
    const std::string& t = text(key);
    std::vector<T> out;
    for (const std::string_view item : split_list(t, str(origin_, ": ", what_, " '", key, "'"))) {
      const std::optional<T> v = parse_value<T>(item);
      if (!v) fail(origin_, ": ", what_, " '", key, "' = '", item, "' is not ", value_kind<T>());
      out.push_back(*v);
    }
    return out;
  }

  // Fails on the first key that `known` (the entries a record writes) does not list.
  void reject_unknown(const key_value_list& known) const {
    std::set<std::string_view> names;
    for (const auto& [k, v] : known) names.insert(k);
    for (const auto& [k, v] : *entries_)
      if (!names.contains(k)) fail(origin_, ": unknown ", what_, " key '", k, "'");
  }

 private:
  const key_value_map* entries_;
  std::string origin_;
  std::string what_;
};

FERGEN_END_NAMESPACE
