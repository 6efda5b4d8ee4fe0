// fergen/core/npy.hpp: numpy's .npy format, the way weights and reference values travel between fergen,
// numpy and PyTorch. Reads format versions 1.0, 2.0 and 3.0 and writes 1.0 (2.0 when the header needs it).
// Input bytes are treated as hostile: every size is checked against what is actually present before
// anything is allocated, and every inconsistency is a fergen::error naming the file and the values.
#pragma once

#include <fergen/config.hpp>
#include <fergen/core/error.hpp>

#include <bit>
#include <cerrno>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

FERGEN_BEGIN_NAMESPACE

// .npy data is little-endian IEEE; the library hands those bytes to kernels without swapping them.
static_assert(std::endian::native == std::endian::little,
              "fergen/core/npy.hpp: this host is not little-endian; .npy bytes would need swapping");
static_assert(std::numeric_limits<float>::is_iec559 && sizeof(float) == 4 && std::numeric_limits<double>::is_iec559 &&
                  sizeof(double) == 8,
              "fergen/core/npy.hpp: float and double must be IEEE binary32 and binary64 to match '<f4' and '<f8'");

// The element types fergen exchanges with numpy. Deliberately closed: big-endian, complex, half, string,
// object and structured arrays have no use in the library and are rejected with a message instead.
enum class dtype { float32, float64, int8, int16, int32, int64, uint8, uint16, uint32, uint64, bool_ };

inline constexpr dtype all_dtypes[] = {dtype::float32, dtype::float64, dtype::int8,  dtype::int16,
                                       dtype::int32,   dtype::int64,   dtype::uint8, dtype::uint16,
                                       dtype::uint32,  dtype::uint64,  dtype::bool_};

// numpy's descr string, the spelling that appears in .npy headers and in messages.
inline std::string_view to_string(dtype t) {
  switch (t) {
    case dtype::float32:
      return "<f4";
    case dtype::float64:
      return "<f8";
    case dtype::int8:
      return "|i1";
    case dtype::int16:
      return "<i2";
    case dtype::int32:
      return "<i4";
    case dtype::int64:
      return "<i8";
    case dtype::uint8:
      return "|u1";
    case dtype::uint16:
      return "<u2";
    case dtype::uint32:
      return "<u4";
    case dtype::uint64:
      return "<u8";
    case dtype::bool_:
      return "|b1";
  }
  fail("fergen::dtype: invalid enumerator ", static_cast<int>(t));
}

inline std::size_t size_of(dtype t) {
  switch (t) {
    case dtype::int8:
    case dtype::uint8:
    case dtype::bool_:
      return 1;
    case dtype::int16:
    case dtype::uint16:
      return 2;
    case dtype::float32:
    case dtype::int32:
    case dtype::uint32:
      return 4;
    case dtype::float64:
    case dtype::int64:
    case dtype::uint64:
      return 8;
  }
  fail("fergen::dtype: invalid enumerator ", static_cast<int>(t));
}

namespace detail {
template <class T>
inline constexpr bool is_character_v = std::same_as<T, char> || std::same_as<T, wchar_t> || std::same_as<T, char8_t> ||
                                       std::same_as<T, char16_t> || std::same_as<T, char32_t>;
}  // namespace detail

// C++ types that map onto one dtype. Plain char is left out: its signedness depends on the platform.
template <class T>
concept npy_element = std::same_as<T, bool> || std::same_as<T, float> || std::same_as<T, double> ||
    (std::integral<T> && !detail::is_character_v<T> &&
     (sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8));

template <npy_element T>
constexpr dtype dtype_of() {
  if constexpr (std::same_as<T, bool>)
    return dtype::bool_;
  else if constexpr (std::same_as<T, float>)
    return dtype::float32;
  else if constexpr (std::same_as<T, double>)
    return dtype::float64;
  else if constexpr (std::is_signed_v<T>) {
    if constexpr (sizeof(T) == 1)
      return dtype::int8;
    else if constexpr (sizeof(T) == 2)
      return dtype::int16;
    else if constexpr (sizeof(T) == 4)
      return dtype::int32;
    else
      return dtype::int64;
  } else {
    if constexpr (sizeof(T) == 1)
      return dtype::uint8;
    else if constexpr (sizeof(T) == 2)
      return dtype::uint16;
    else if constexpr (sizeof(T) == 4)
      return dtype::uint32;
    else
      return dtype::uint64;
  }
}

namespace detail {

// Python's tuple repr, so messages read like numpy's: "()", "(5,)", "(3, 4)".
inline std::string shape_to_string(std::span<const std::int64_t> shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// Product of the dimensions. A shape read from a file can hold anything, so negative dimensions and
// products past 64 bits are errors rather than wrapped numbers that later size an allocation.
inline std::int64_t checked_count(std::span<const std::int64_t> shape, std::string_view origin) {
  std::int64_t n = 1;
  bool empty = false;
  for (const std::int64_t d : shape) {
    // if + fail rather than require: the message must not be built once per dimension of a long shape.
    if (d < 0) fail(origin, ": shape ", shape_to_string(shape), " has a negative dimension");
    if (d == 0) {
      empty = true;  // still check the other dimensions: numpy rejects (0, 2**62, 2**62) too
      continue;
    }
    if (n > std::numeric_limits<std::int64_t>::max() / d)
      fail(origin, ": shape ", shape_to_string(shape), " has more elements than fit in 64 bits");
    n *= d;
  }
  return empty ? 0 : n;
}

inline std::size_t checked_nbytes(std::span<const std::int64_t> shape, dtype t, std::string_view origin) {
  const std::int64_t n = checked_count(shape, origin);
  const auto item = static_cast<std::int64_t>(size_of(t));
  require(n <= std::numeric_limits<std::int64_t>::max() / item &&
              static_cast<std::uint64_t>(n * item) <= std::numeric_limits<std::size_t>::max(),
          origin, ": shape ", shape_to_string(shape), " of '", to_string(t), "' is more bytes than fit in memory");
  return static_cast<std::size_t>(n * item);
}

template <class T>
std::string arithmetic_name() {
  if constexpr (std::same_as<T, bool>)
    return "bool";
  else if constexpr (std::floating_point<T>)
    return sizeof(T) == 4 ? "float" : sizeof(T) == 8 ? "double" : "long double";
  else
    return str(std::is_signed_v<T> ? "int" : "uint", sizeof(T) * 8);
}

template <class T, class S>
[[noreturn]] void element_does_not_fit(S v, std::size_t index, dtype from) {
  fail("npy_array::values<", arithmetic_name<T>(), ">: element ", index, " is ", +v, " ('", to_string(from),
       "'), which does not fit in ", arithmetic_name<T>());
}

// One element to the caller's type. Integer targets get a range check: a float-to-int conversion out of
// range is undefined behaviour and an int-to-int one wraps, and either would be silent garbage.
template <class T, class S>
T convert_element(S v, std::size_t index, dtype from) {
  if constexpr (std::same_as<T, bool>) {
    return v != S{};
  } else if constexpr (std::floating_point<T>) {
    return static_cast<T>(v);
  } else if constexpr (std::floating_point<S>) {
    const double t = std::trunc(static_cast<double>(v));  // numpy's astype truncates toward zero too
    const double lo = static_cast<double>(std::numeric_limits<T>::min());
    const double hi = std::ldexp(1.0, std::numeric_limits<T>::digits);  // max + 1, exact in double
    if (!(std::isfinite(t) && t >= lo && t < hi)) element_does_not_fit<T>(v, index, from);
    return static_cast<T>(t);
  } else {
    if (!std::in_range<T>(v)) element_does_not_fit<T>(v, index, from);
    return static_cast<T>(v);
  }
}

// Calls f.template operator()<S>() with S the C++ type stored for t (bool is stored as one byte).
template <class F>
void visit_storage(dtype t, F&& f) {
  switch (t) {
    case dtype::float32:
      return f.template operator()<float>();
    case dtype::float64:
      return f.template operator()<double>();
    case dtype::int8:
      return f.template operator()<std::int8_t>();
    case dtype::int16:
      return f.template operator()<std::int16_t>();
    case dtype::int32:
      return f.template operator()<std::int32_t>();
    case dtype::int64:
      return f.template operator()<std::int64_t>();
    case dtype::uint8:
    case dtype::bool_:
      return f.template operator()<std::uint8_t>();
    case dtype::uint16:
      return f.template operator()<std::uint16_t>();
    case dtype::uint32:
      return f.template operator()<std::uint32_t>();
    case dtype::uint64:
      return f.template operator()<std::uint64_t>();
  }
  fail("fergen::dtype: invalid enumerator ", static_cast<int>(t));
}

}  // namespace detail

// An n-dimensional array as numpy stores it: raw little-endian bytes in C order plus dtype and shape.
// It is the exchange format, not a compute tensor; values<T>() converts it into one.
struct npy_array {
  fergen::dtype dtype = fergen::dtype::float32;
  std::vector<std::int64_t> shape;  // C order; empty = 0-d scalar
  std::vector<std::byte> bytes;     // size == count() * size_of(dtype)

  std::int64_t count() const { return detail::checked_count(shape, "npy_array"); }

  // The elements converted to T in C order. Integer targets throw when a value does not fit.
  template <class T>
  std::vector<T> values() const {
    static_assert(std::is_arithmetic_v<T> && !detail::is_character_v<T>,
                  "npy_array::values<T>: T must be a number type (float, double, an intN_t, bool)");
    const std::size_t nbytes = detail::checked_nbytes(shape, dtype, "npy_array");
    require(bytes.size() == nbytes, "npy_array: bytes holds ", bytes.size(), " bytes but shape ",
            detail::shape_to_string(shape), " of '", to_string(dtype), "' needs ", nbytes);
    std::vector<T> out(nbytes / size_of(dtype));
    const bool is_bool = dtype == fergen::dtype::bool_;
    detail::visit_storage(dtype, [&]<class S>() {
      for (std::size_t i = 0; i < out.size(); ++i) {
        S v;
        std::memcpy(&v, bytes.data() + i * sizeof(S), sizeof(S));
        if (is_bool) v = static_cast<S>(v != 0);  // any nonzero byte is True, as in numpy
        out[i] = detail::convert_element<T>(v, i, dtype);
      }
    });
    return out;
  }
};

// An array of T with the given shape; data is in C order and must fill the shape exactly.
template <npy_element T>
npy_array make_npy(std::span<const T> data, std::vector<std::int64_t> shape) {
  const std::int64_t n = detail::checked_count(shape, "make_npy");
  require(static_cast<std::uint64_t>(n) == data.size(), "make_npy: ", data.size(), " values do not fill shape ",
          detail::shape_to_string(shape), " (", n, " elements)");
  npy_array a;
  a.dtype = dtype_of<T>();
  a.shape = std::move(shape);
  a.bytes.resize(data.size() * sizeof(T));
  if constexpr (std::same_as<T, bool>) {
    for (std::size_t i = 0; i < data.size(); ++i) a.bytes[i] = std::byte{data[i] ? std::uint8_t{1} : std::uint8_t{0}};
  } else if (!data.empty()) {
    std::memcpy(a.bytes.data(), data.data(), a.bytes.size());
  }
  return a;
}

// Any contiguous container (std::vector<float>, std::array<int, 4>, ...); std::vector<bool> is not
// contiguous: use a std::span<const bool> or std::unique_ptr<bool[]> instead.
template <std::ranges::contiguous_range R>
requires npy_element<std::remove_cv_t<std::ranges::range_value_t<R>>> npy_array
make_npy(const R& data, std::vector<std::int64_t> shape) {
  using T = std::remove_cv_t<std::ranges::range_value_t<R>>;
  return make_npy(std::span<const T>(std::ranges::data(data), std::ranges::size(data)), std::move(shape));
}

namespace detail {

inline constexpr char npy_magic[] = "\x93NUMPY";
inline constexpr std::size_t npy_magic_size = 6;
inline constexpr std::size_t npy_alignment = 64;  // numpy aligns the data so it can be memory-mapped

// Little-endian loads; the caller has checked that the bytes are there.
inline std::uint16_t load_u16(std::span<const std::byte> b, std::size_t at) {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(b[at]) | std::to_integer<unsigned>(b[at + 1]) << 8);
}
inline std::uint32_t load_u32(std::span<const std::byte> b, std::size_t at) {
  return static_cast<std::uint32_t>(load_u16(b, at)) | static_cast<std::uint32_t>(load_u16(b, at + 2)) << 16;
}
inline std::uint64_t load_u64(std::span<const std::byte> b, std::size_t at) {
  return static_cast<std::uint64_t>(load_u32(b, at)) | static_cast<std::uint64_t>(load_u32(b, at + 4)) << 32;
}

inline void store_u16(std::vector<std::byte>& out, std::uint16_t v) {
  out.push_back(static_cast<std::byte>(v & 0xFF));
  out.push_back(static_cast<std::byte>(v >> 8));
}
inline void store_u32(std::vector<std::byte>& out, std::uint32_t v) {
  store_u16(out, static_cast<std::uint16_t>(v & 0xFFFF));
  store_u16(out, static_cast<std::uint16_t>(v >> 16));
}
inline void store_u64(std::vector<std::byte>& out, std::uint64_t v) {
  store_u32(out, static_cast<std::uint32_t>(v & 0xFFFFFFFF));
  store_u32(out, static_cast<std::uint32_t>(v >> 32));
}
inline void store_text(std::vector<std::byte>& out, std::string_view s) {
  for (const char c : s) out.push_back(static_cast<std::byte>(c));
}

// The header as it may appear in a message: bounded in length and with unprintable bytes made visible.
inline std::string excerpt(std::string_view text, std::size_t limit = 160) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\0')) text.remove_suffix(1);
  std::string s;
  for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    s += (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : '?';
  }
  if (text.size() > limit) s += "...";
  return s;
}

// Maps a descr string to a dtype, or explains why fergen does not read it.
inline dtype parse_descr(std::string_view descr, std::string_view origin) {
  static constexpr std::string_view supported = "<f4, <f8, |i1, <i2, <i4, <i8, |u1, <u2, <u4, <u8, |b1";
  if (descr.size() == 3 && std::string_view("<=|>").find(descr[0]) != std::string_view::npos) {
    const std::string_view code = descr.substr(1);
    for (const dtype t : all_dtypes) {
      if (to_string(t).substr(1) != code) continue;
      // A byte order means nothing for one-byte types; numpy writes '|', but any prefix is the same data.
      if (size_of(t) == 1 || descr[0] == '<' || descr[0] == '=') return t;
      if (descr[0] == '>')
        fail(origin, ": descr '", descr, "' is big-endian; fergen reads little-endian data only (save it with ",
             "arr.astype('<", code, "'))");
      fail(origin, ": descr '", descr, "' gives no byte order for a ", size_of(t), "-byte type");
    }
  }
  std::string_view what = "an unsupported type";
  const char kind = descr.size() >= 2 && std::string_view("<=|>").find(descr[0]) != std::string_view::npos
                        ? descr[1]
                        : (descr.empty() ? '\0' : descr[0]);
  switch (kind) {
    case 'c':
      what = "complex";
      break;
    case 'O':
      what = "object (pickled Python objects)";
      break;
    case 'S':
    case 'a':
    case 'U':
      what = "a string type";
      break;
    case 'V':
      what = "a void/structured type";
      break;
    case 'M':
    case 'm':
      what = "a datetime type";
      break;
    case 'f':
      what = "a floating type of unsupported width";
      break;
    default:
      break;
  }
  fail(origin, ": descr '", excerpt(descr, 40), "' is ", what, ", which fergen does not read (it reads ", supported,
       ")");
}

struct npy_header {
  fergen::dtype dtype = fergen::dtype::float32;
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
};

// The header is a Python dict literal. numpy writes one fixed layout, but other writers (and hand edits)
// reorder keys, add spaces or trailing commas, so this is a small tokenizer rather than a pattern match.
class npy_header_parser {
 public:
  npy_header_parser(std::string_view text, std::string_view origin) : text_(text), origin_(origin) {}

  npy_header parse() {
    npy_header h;
    bool have_descr = false, have_fortran = false, have_shape = false;
    skip_space();
    expect('{', "does not start with '{'");
    for (;;) {
      skip_space();
      if (at('}')) break;
      const std::string key = read_string("a quoted key");
      skip_space();
      if (!at(':')) reject("has no ':' after key '", excerpt(key, 40), "'");
      skip_space();
      if (key == "descr") {
        check(!have_descr, "has 'descr' twice");
        have_descr = true;
        if (peek() != '\'' && peek() != '"')
          reject("has a 'descr' that is not a string (structured dtypes are not supported): ",
                 excerpt(text_.substr(pos_), 60));
        h.dtype = parse_descr(read_string("a descr"), origin_);
      } else if (key == "fortran_order") {
        check(!have_fortran, "has 'fortran_order' twice");
        have_fortran = true;
        h.fortran_order = read_bool();
      } else if (key == "shape") {
        check(!have_shape, "has 'shape' twice");
        have_shape = true;
        h.shape = read_shape();
      } else {
        reject("has an unexpected key '", excerpt(key, 40),
               "' (an .npy header holds exactly 'descr', 'fortran_order' and 'shape')");
      }
      skip_space();
      if (at(',')) continue;
      if (at('}')) break;
      reject("has '", excerpt(text_.substr(pos_), 1), "' where ',' or '}' should follow key '", excerpt(key, 40), "'");
    }
    skip_space();
    check(pos_ == text_.size(), "has text after the closing '}': ", excerpt(text_.substr(pos_), 40));
    check(have_descr, "has no 'descr'");
    check(have_fortran, "has no 'fortran_order'");
    check(have_shape, "has no 'shape'");
    return h;
  }

 private:
  // Messages are built only on failure: a long shape makes many checks.
  template <class... Parts>
  [[noreturn]] void reject(const Parts&... problem) const {
    fail(origin_, ": .npy header ", problem..., ": ", excerpt(text_));
  }
  template <class... Parts>
  void check(bool ok, const Parts&... problem) const {
    if (!ok) reject(problem...);
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool at(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c, std::string_view problem) { check(at(c), problem); }
  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }

  std::string read_string(std::string_view what) {
    const char quote = peek();
    if (quote != '\'' && quote != '"') reject("has '", excerpt(text_.substr(pos_), 12), "' where ", what, " should be");
    ++pos_;
    std::string s;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
      s += text_[pos_++];
    }
    check(pos_ < text_.size(), "has an unterminated string");
    ++pos_;
    return s;
  }

  bool read_bool() {
    const std::string_view rest = text_.substr(pos_);
    for (const auto& [word, value] :
         {std::pair{std::string_view("True"), true}, std::pair{std::string_view("False"), false}}) {
      if (rest.starts_with(word)) {
        pos_ += word.size();
        return value;
      }
    }
    reject("has a 'fortran_order' that is not True or False: ", excerpt(rest, 20));
  }

  std::int64_t read_dimension() {
    const bool negative = at('-');
    const std::size_t start = pos_;
    std::int64_t v = 0;
    bool overflow = false;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const int digit = text_[pos_++] - '0';
      if (v > (std::numeric_limits<std::int64_t>::max() - digit) / 10)
        overflow = true;
      else
        v = v * 10 + digit;
    }
    const std::string_view digits = text_.substr(start, pos_ - start);
    if (digits.empty()) reject("has a 'shape' entry that is not an integer: ", excerpt(text_.substr(start), 20));
    if (negative) reject("has a negative dimension -", excerpt(digits, 40), " in 'shape'");
    if (overflow) reject("has a dimension ", excerpt(digits, 40), " in 'shape' that does not fit in 64 bits");
    if (peek() == 'L' || peek() == 'l') ++pos_;  // Python 2's numpy wrote long integers as "3L"
    return v;
  }

  std::vector<std::int64_t> read_shape() {
    check(at('('), "has a 'shape' that is not a tuple: ", excerpt(text_.substr(pos_), 20));
    std::vector<std::int64_t> shape;
    skip_space();
    if (at(')')) return shape;
    for (;;) {
      shape.push_back(read_dimension());
      skip_space();
      if (at(',')) {
        skip_space();
        if (at(')')) return shape;
        continue;
      }
      if (at(')')) {
        // "(5)" is the integer 5 in Python, not a 1-tuple; numpy would reject it, so must we.
        check(shape.size() > 1, "has 'shape' (N) without the comma of a 1-tuple (N,)");
        return shape;
      }
      reject("has a malformed 'shape' near: ", excerpt(text_.substr(pos_), 20));
    }
  }

  std::string_view text_;
  std::string_view origin_;
  std::size_t pos_ = 0;
};

// numpy's header dict with keys in its order; the trailing ", }" is numpy's spelling too.
inline std::string npy_header_text(dtype t, std::span<const std::int64_t> shape) {
  return str("{'descr': '", to_string(t), "', 'fortran_order': False, 'shape': ", shape_to_string(shape), ", }");
}

// Reorders Fortran-order elements into C order, any rank: walks the output in C order with an odometer
// while tracking the matching Fortran offset.
inline std::vector<std::byte> fortran_to_c_order(std::span<const std::byte> src, std::span<const std::int64_t> shape,
                                                 std::size_t item) {
  struct axis {
    std::int64_t size, stride, index;  // stride: Fortran stride in elements
  };
  std::vector<axis> axes;  // size-1 axes do not change the order; dropping them keeps the walk short
  std::int64_t stride = 1;
  for (const std::int64_t d : shape) {
    if (d == 1) continue;
    axes.push_back({d, stride, 0});
    stride *= d;
  }
  std::vector<std::byte> dst(src.begin(), src.end());
  if (axes.size() < 2 || src.empty()) return dst;
  const std::size_t n = src.size() / item;
  std::int64_t from = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::memcpy(dst.data() + i * item, src.data() + static_cast<std::size_t>(from) * item, item);
    for (auto a = axes.rbegin(); a != axes.rend(); ++a) {  // the last axis moves fastest in C order
      from += a->stride;
      if (++a->index < a->size) break;
      from -= a->stride * a->size;
      a->index = 0;
    }
  }
  return dst;
}

inline std::string errno_text(int e) { return std::generic_category().message(e); }

inline std::FILE* open_file(const std::filesystem::path& path, const char* mode) {
  return std::fopen(path.string().c_str(), mode);
}

struct file_closer {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

// The whole file in memory: .npy and .npz parsing needs random access and bounds checks against the
// true size, and the files the library reads (weights, reference values) fit comfortably.
inline std::vector<std::byte> read_file(const std::filesystem::path& path) {
  std::unique_ptr<std::FILE, file_closer> f(open_file(path, "rb"));
  if (!f) {
    const int e = errno;
    fail(path.string(), ": cannot open for reading: ", errno_text(e));
  }
  std::error_code ec;
  const auto expected = std::filesystem::file_size(path, ec);
  std::vector<std::byte> data(ec ? std::size_t{1} << 16 : static_cast<std::size_t>(expected) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == data.size()) data.resize(data.size() * 2);
    const std::size_t got = std::fread(data.data() + used, 1, data.size() - used, f.get());
    used += got;
    if (got == 0 || used < data.size()) {
      if (std::ferror(f.get())) {
        const int e = errno;
        fail(path.string(), ": read error after ", used, " bytes: ", errno_text(e));
      }
      if (std::feof(f.get())) break;
    }
  }
  data.resize(used);
  return data;
}

// Writes to "<path>.tmp-<pid>-<random>" in the same directory and renames it over path on commit(), so a
// crash or an error never leaves a half-written file under the final name. Without commit() (an exception
// while the content was being produced) the temporary file is removed.
class atomic_file {
 public:
  explicit atomic_file(std::filesystem::path path) : path_(std::move(path)) {
    std::random_device entropy;
    const std::uint64_t tag = static_cast<std::uint64_t>(entropy()) << 32 ^ entropy();
#if defined(__unix__) || defined(__APPLE__)
    const long pid = static_cast<long>(::getpid());
#else
    const long pid = 0;
#endif
    temp_ = path_;
    temp_ += str(".tmp-", pid, "-", tag);
    file_ = open_file(temp_, "wbx");
    if (!file_) {
      const int e = errno;
      fail(path_.string(), ": cannot create ", temp_.string(), " for writing: ", errno_text(e));
    }
  }
  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;

  ~atomic_file() {
    if (file_) std::fclose(file_);
    if (!committed_) {
      std::error_code ignored;
      std::filesystem::remove(temp_, ignored);
    }
  }

  void write(std::span<const std::byte> data) {
    require(file_ != nullptr, path_.string(), ": write after commit");
    if (data.empty()) return;
    if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
      const int e = errno;
      fail(path_.string(), ": writing ", temp_.string(), " failed: ", errno_text(e));
    }
  }

  void commit() {
    require(file_ != nullptr, path_.string(), ": commit twice");
    int e = 0;
    if (std::fflush(file_) != 0) e = errno;
#if defined(__unix__) || defined(__APPLE__)
    // The rename must not become visible before the data: otherwise a power loss can leave an empty file.
    if (e == 0 && ::fsync(::fileno(file_)) != 0) e = errno;
#endif
    if (std::fclose(file_) != 0 && e == 0) e = errno;
    file_ = nullptr;
    if (e != 0) fail(path_.string(), ": writing ", temp_.string(), " failed: ", errno_text(e));
    std::error_code ec;
    std::filesystem::rename(temp_, path_, ec);
    if (ec) fail(path_.string(), ": cannot rename ", temp_.string(), " to it: ", ec.message());
    committed_ = true;
  }

 private:
  std::filesystem::path path_;
  std::filesystem::path temp_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

// A whole file written atomically (atomic_file), for formats that build their bytes first.
inline void write_atomically(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  atomic_file out(path);
  out.write(bytes);
  out.commit();
}
inline void write_atomically(const std::filesystem::path& path, std::string_view text) {
  write_atomically(path, std::as_bytes(std::span<const char>(text.data(), text.size())));
}

// A whole text file, or nothing when it cannot be opened: the caller says what was missing in its own terms.
inline std::optional<std::string> read_text(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  const std::vector<std::byte> bytes = read_file(path);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace detail

// Parses a whole .npy file held in memory. origin names it in messages (a path, or "x.npz: member 'w.npy'").
inline npy_array parse_npy(std::span<const std::byte> bytes, std::string_view origin) {
  using detail::npy_magic_size;
  require(bytes.size() >= npy_magic_size + 2, origin, ": ", bytes.size(),
          " bytes is too short for an .npy file (magic and version alone are 8)");
  require(std::memcmp(bytes.data(), detail::npy_magic, npy_magic_size) == 0, origin,
          ": not an .npy file (it does not start with the magic \\x93NUMPY)");
  const auto major = std::to_integer<unsigned>(bytes[6]);
  const auto minor = std::to_integer<unsigned>(bytes[7]);
  require((major == 1 || major == 2 || major == 3) && minor == 0, origin, ": .npy format version ", major, ".", minor,
          " is not supported (fergen reads 1.0, 2.0 and 3.0)");
  const std::size_t length_size = major == 1 ? 2 : 4;
  const std::size_t header_start = npy_magic_size + 2 + length_size;
  require(bytes.size() >= header_start, origin, ": ", bytes.size(),
          " bytes is too short for an .npy file (the header length field ends at byte ", header_start, ")");
  const std::size_t header_size = major == 1 ? detail::load_u16(bytes, 8) : detail::load_u32(bytes, 8);
  require(header_size <= bytes.size() - header_start, origin, ": header length is ", header_size, " bytes but only ",
          bytes.size() - header_start, " bytes follow the length field");
  const std::string_view header(reinterpret_cast<const char*>(bytes.data() + header_start), header_size);
  detail::npy_header h = detail::npy_header_parser(header, origin).parse();

  const std::size_t nbytes = detail::checked_nbytes(h.shape, h.dtype, origin);
  const std::span<const std::byte> data = bytes.subspan(header_start + header_size);
  require(data.size() == nbytes, origin, ": data is ", data.size(), " bytes, header says shape ",
          detail::shape_to_string(h.shape), " of '", to_string(h.dtype), "' = ", nbytes, " bytes");

  npy_array a;
  a.dtype = h.dtype;
  if (h.fortran_order)
    a.bytes = detail::fortran_to_c_order(data, h.shape, size_of(h.dtype));
  else
    a.bytes.assign(data.begin(), data.end());
  a.shape = std::move(h.shape);
  // Only 0 and 1 are valid bool bytes in C++; numpy reads any nonzero byte as True.
  if (a.dtype == dtype::bool_)
    for (std::byte& b : a.bytes) b = b != std::byte{0} ? std::byte{1} : std::byte{0};
  return a;
}

// The bytes np.save writes for the same array, byte for byte: version 1.0 (2.0 when the header does not fit
// 65535 bytes), numpy's dict text, its spare spaces for growing the first axis in place, and the padding
// with spaces and a newline that puts the data at a multiple of 64.
inline std::vector<std::byte> serialize_npy(const npy_array& a) {
  const std::size_t nbytes = detail::checked_nbytes(a.shape, a.dtype, "serialize_npy");
  require(a.bytes.size() == nbytes, "serialize_npy: bytes holds ", a.bytes.size(), " bytes but shape ",
          detail::shape_to_string(a.shape), " of '", to_string(a.dtype), "' needs ", nbytes);
  std::string dict = detail::npy_header_text(a.dtype, a.shape);
  if (!a.shape.empty())
    dict.append(21 - std::to_string(a.shape.front()).size(), ' ');  // numpy's GROWTH_AXIS_MAX_DIGITS
  // numpy pads by 64 - (size % 64), i.e. a whole extra 64 when the header happens to be aligned already.
  const auto padded = [&](std::size_t prefix) {
    const std::size_t unpadded = dict.size() + 1;  // + '\n'
    return unpadded + detail::npy_alignment - (prefix + unpadded) % detail::npy_alignment;
  };
  unsigned major = 1;
  std::size_t prefix = detail::npy_magic_size + 2 + 2;
  std::size_t header_size = padded(prefix);
  if (header_size > 0xFFFF) {
    major = 2;
    prefix = detail::npy_magic_size + 2 + 4;
    header_size = padded(prefix);
    require(header_size <= 0xFFFFFFFF, "serialize_npy: a header of ", header_size, " bytes for shape rank ",
            a.shape.size(), " does not fit even format 2.0");
  }
  std::vector<std::byte> out;
  out.reserve(prefix + header_size + nbytes);
  detail::store_text(out, std::string_view(detail::npy_magic, detail::npy_magic_size));
  out.push_back(static_cast<std::byte>(major));
  out.push_back(std::byte{0});
  if (major == 1)
    detail::store_u16(out, static_cast<std::uint16_t>(header_size));
  else
    detail::store_u32(out, static_cast<std::uint32_t>(header_size));
  detail::store_text(out, dict);
  out.resize(prefix + header_size - 1, std::byte{' '});
  out.push_back(std::byte{'\n'});
  if (a.dtype == dtype::bool_) {
    for (const std::byte b : a.bytes) out.push_back(b != std::byte{0} ? std::byte{1} : std::byte{0});
  } else {
    out.insert(out.end(), a.bytes.begin(), a.bytes.end());
  }
  return out;
}

inline npy_array read_npy(const std::filesystem::path& path) {
  return parse_npy(detail::read_file(path), path.string());
}

// Atomic: the file under path is either the old one or the complete new one.
inline void write_npy(const std::filesystem::path& path, const npy_array& a) {
  const std::vector<std::byte> bytes = serialize_npy(a);
  detail::atomic_file file(path);
  file.write(bytes);
  file.commit();
}

FERGEN_END_NAMESPACE
