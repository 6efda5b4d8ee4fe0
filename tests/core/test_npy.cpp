// Tests for fergen/core/npy.hpp: numpy's own files read exactly, fergen's files read by numpy, and hostile
// input (truncations, bad headers, random byte flips) always a fergen::error, never a crash.
#include <fergen/core/npy.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include "support/errors.hpp"

namespace {

using fergen::testing::contains;
using fergen::testing::error_of;

namespace fs = std::filesystem;
using fergen::dtype;
using fergen::npy_array;

const fs::path fixtures = FERGEN_TEST_DATA_DIR "/npy_fixtures";  // written by make_npy_fixtures.py
const fs::path scratch = FERGEN_TEST_DATA_DIR "/test_npy";       // what these tests write

std::vector<std::byte> as_bytes(std::string_view s) {
  std::vector<std::byte> out;
  for (const char c : s) out.push_back(static_cast<std::byte>(c));
  return out;
}

std::vector<std::byte> file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE_MESSAGE(in, "cannot open ", p.string());
  const std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return as_bytes(s);
}

// A version-1.0 .npy with the given header dict text and data_bytes bytes of data, padded as numpy pads.
std::vector<std::byte> raw_npy(std::string_view dict, std::size_t data_bytes, unsigned major = 1) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  std::string header(dict);
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  const std::size_t n = header.size();
  out += static_cast<char>(n & 0xFF);
  out += static_cast<char>((n >> 8) & 0xFF);
  if (major != 1) out += std::string(2, '\0');
  out += header;
  std::vector<std::byte> bytes = as_bytes(out);
  for (std::size_t i = 0; i < data_bytes; ++i) bytes.push_back(static_cast<std::byte>(i * 7 + 1));
  return bytes;
}

// The message of the fergen::error that f throws, or a marker when it throws nothing.
std::string shell_quote(std::string_view s) {
  std::string q = "'";
  for (const char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs FERGEN_PYTHON -c script with the arguments; true when it exits with status 0.
bool run_python(std::string_view script, const std::vector<std::string>& args) {
  std::string command = shell_quote(FERGEN_PYTHON) + " -c " + shell_quote(script);
  for (const auto& a : args) command.append(" ").append(shell_quote(a));
  return std::system(command.c_str()) == 0;
}

// One line of expected.txt: <file> <key or -> <descr> <ndim> <dims...> <count> <values...>
struct expected_array {
  std::string file, key, descr;
  std::vector<std::int64_t> shape;
  std::vector<std::string> values;
};

std::vector<expected_array> load_expected() {
  std::ifstream in(fixtures / "expected.txt");
  REQUIRE_MESSAGE(in, "cannot open ", (fixtures / "expected.txt").string(), " (did the npy_fixtures test run?)");
  std::vector<expected_array> all;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    expected_array e;
    std::size_t rank = 0, count = 0;
    fields >> e.file >> e.key >> e.descr >> rank;
    e.shape.resize(rank);
    for (auto& d : e.shape) fields >> d;
    fields >> count;
    e.values.resize(count);
    for (auto& v : e.values) fields >> v;
    REQUIRE_MESSAGE(!fields.fail(), "malformed expected.txt line: ", line.substr(0, 80));
    all.push_back(std::move(e));
  }
  return all;
}

// Empty when a matches e exactly (dtype, shape, every value bit for bit, NaN for NaN), else what differs.
std::string mismatch(const npy_array& a, const expected_array& e) {
  if (fergen::to_string(a.dtype) != e.descr) return "dtype " + std::string(fergen::to_string(a.dtype));
  if (a.shape != e.shape) return "shape " + fergen::detail::shape_to_string(a.shape);
  if (a.bytes.size() != e.values.size() * fergen::size_of(a.dtype)) return "byte count";
  for (std::size_t i = 0; i < e.values.size(); ++i) {
    const std::string& text = e.values[i];
    bool same = false;
    std::string got;
    switch (e.descr[1]) {
      case 'f': {
        const double want = std::strtod(text.c_str(), nullptr);
        const double have = a.values<double>()[i];
        same = (std::isnan(want) && std::isnan(have)) || (want == have && std::signbit(want) == std::signbit(have));
        got = fergen::str(have);
        break;
      }
      case 'i': {
        const auto have = a.values<std::int64_t>()[i];
        same = have == std::strtoll(text.c_str(), nullptr, 10);
        got = std::to_string(have);
        break;
      }
      case 'u': {
        const auto have = a.values<std::uint64_t>()[i];
        same = have == std::strtoull(text.c_str(), nullptr, 10);
        got = std::to_string(have);
        break;
      }
      case 'b': {
        const int have = a.values<int>()[i];
        same = have == std::stoi(text);
        got = std::to_string(have);
        break;
      }
      default:
        return "unexpected descr " + e.descr;
    }
    if (!same) return "element " + std::to_string(i) + " is " + got + ", numpy wrote " + text;
  }
  return {};
}

std::vector<std::byte> small_npy() {
  const std::array<float, 6> v{1.5f, -2.f, 0.25f, 8.f, -0.f, 3.f};
  return fergen::serialize_npy(fergen::make_npy(v, {2, 3}));
}

}  // namespace

TEST_CASE("dtype: descr strings, element sizes and C++ type mapping match numpy") {
  struct row {
    dtype t;
    std::string_view descr;
    std::size_t size;
  };
  const row table[] = {{dtype::float32, "<f4", 4}, {dtype::float64, "<f8", 8}, {dtype::int8, "|i1", 1},
                       {dtype::int16, "<i2", 2},   {dtype::int32, "<i4", 4},   {dtype::int64, "<i8", 8},
                       {dtype::uint8, "|u1", 1},   {dtype::uint16, "<u2", 2},  {dtype::uint32, "<u4", 4},
                       {dtype::uint64, "<u8", 8},  {dtype::bool_, "|b1", 1}};
  for (const row& r : table) {
    CHECK(fergen::to_string(r.t) == r.descr);
    CHECK(fergen::size_of(r.t) == r.size);
  }
  CHECK(std::size(fergen::all_dtypes) == std::size(table));
  static_assert(fergen::dtype_of<float>() == dtype::float32 && fergen::dtype_of<double>() == dtype::float64);
  static_assert(fergen::dtype_of<std::int8_t>() == dtype::int8 && fergen::dtype_of<std::uint64_t>() == dtype::uint64);
  static_assert(fergen::dtype_of<long long>() == dtype::int64 && fergen::dtype_of<bool>() == dtype::bool_);
  static_assert(!fergen::npy_element<char> && !fergen::npy_element<long double>);
  CHECK(contains(error_of([] { (void)fergen::size_of(static_cast<dtype>(99)); }), "invalid enumerator 99"));
}

TEST_CASE("parse_npy: every .npy numpy wrote (all dtypes, 0-d, (5,), 4-D, empty, v2, v3, Fortran) reads exactly") {
  int files = 0;
  for (const expected_array& e : load_expected()) {
    if (e.key != "-") continue;
    CAPTURE(e.file);
    const npy_array a = fergen::read_npy(fixtures / e.file);
    CHECK(mismatch(a, e) == "");
    ++files;
  }
  CHECK(files == 20);
}

TEST_CASE("parse_npy: Fortran-order data is reordered into C order, any rank") {
  // numpy's arange(15).reshape(3, 5) saved from its Fortran-ordered copy.
  const npy_array two_d = fergen::read_npy(fixtures / "fortran_i2_2d.npy");
  std::vector<int> want(15);
  for (int i = 0; i < 15; ++i) want[i] = i;
  CHECK(two_d.values<int>() == want);

  // A hand-made (2, 3, 4) file whose element (i, j, k) holds 100i + 10j + k, stored in Fortran order.
  std::vector<std::int32_t> fortran;
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i) fortran.push_back(100 * i + 10 * j + k);
  std::vector<std::byte> bytes = raw_npy("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3, 4), }", 0);
  const auto* p = reinterpret_cast<const std::byte*>(fortran.data());
  bytes.insert(bytes.end(), p, p + fortran.size() * 4);
  const npy_array a = fergen::parse_npy(bytes, "f.npy");
  CHECK(a.shape == std::vector<std::int64_t>{2, 3, 4});
  const std::vector<int> c = a.values<int>();
  for (int i = 0, n = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k, ++n) CHECK(c[n] == 100 * i + 10 * j + k);

  // Size-1 axes and 1-D: Fortran and C order are the same bytes.
  std::vector<std::byte> column = raw_npy("{'descr': '|u1', 'fortran_order': True, 'shape': (1, 4, 1), }", 4);
  CHECK(fergen::parse_npy(column, "c.npy").values<int>() == std::vector<int>{1, 8, 15, 22});
}

TEST_CASE("parse_npy: header dicts in any key order, with spaces, trailing commas, '=' and 'L' suffixes") {
  struct variant {
    std::string_view dict;
    std::size_t data;
    dtype t;
    std::vector<std::int64_t> shape;
  };
  const variant variants[] = {
      {"{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}", 24, dtype::float32, {2, 3}},
      {"{ \"descr\" : \"<f4\" , \"fortran_order\":False,\"shape\":( 2 ,3 , ),  }", 24, dtype::float32, {2, 3}},
      {"{'descr':'=f8','fortran_order':False,'shape':(3,)}", 24, dtype::float64, {3}},
      {"{'descr': '<i1', 'fortran_order': False, 'shape': (5,), }", 5, dtype::int8, {5}},
      {"{'descr': '|b1', 'fortran_order': False, 'shape': (2L, 3L), }", 6, dtype::bool_, {2, 3}},
      {"{'descr': '<u8', 'fortran_order': False, 'shape': (), }", 8, dtype::uint64, {}},
      {"  {'descr': '<i2', 'fortran_order': False, 'shape': (0, 7), }", 0, dtype::int16, {0, 7}},
  };
  for (const variant& v : variants) {
    CAPTURE(v.dict);
    const npy_array a = fergen::parse_npy(raw_npy(v.dict, v.data), "ok.npy");
    CHECK(a.dtype == v.t);
    CHECK(a.shape == v.shape);
    CHECK(a.bytes.size() == v.data);
  }
  // Bool bytes other than 0/1 are True, stored as 1 so that the bytes are valid C++ bools.
  const npy_array b = fergen::parse_npy(raw_npy("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", 3), "b");
  CHECK(b.bytes == std::vector<std::byte>{std::byte{1}, std::byte{1}, std::byte{1}});
}

TEST_CASE("parse_npy: bad header dicts are rejected with a message naming the file and the problem") {
  struct bad {
    std::string_view dict;
    std::string_view message;
  };
  const bad cases[] = {
      {"{'descr': '<f4', 'fortran_order': False}", "has no 'shape'"},
      {"{'fortran_order': False, 'shape': (3,)}", "has no 'descr'"},
      {"{'descr': '<f4', 'shape': (3,)}", "has no 'fortran_order'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", "negative dimension -3"},
      {"{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", "descr '<c8' is complex"},
      {"{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", "descr '>f4' is big-endian"},
      {"{'descr': 'O', 'fortran_order': False, 'shape': (3,), }", "descr 'O' is object"},
      {"{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", "descr '|O' is object"},
      {"{'descr': '<U5', 'fortran_order': False, 'shape': (3,), }", "descr '<U5' is a string type"},
      {"{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }", "descr '<f2' is a floating type"},
      {"{'descr': '|f4', 'fortran_order': False, 'shape': (3,), }", "gives no byte order"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }", "structured dtypes are not supported"},
      {"{'descr': '<f4', 'fortran_order': 1, 'shape': (3,), }", "not True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}", "unexpected key 'extra'"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", "has 'descr' twice"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3)}", "without the comma of a 1-tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [3]}", "'shape' that is not a tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, x)}", "not an integer"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "does not fit in 64 bits"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", "more elements than fit"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904,)}", "more bytes than fit"},
      {"{'descr': '<f4", "unterminated string"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} x", "text after the closing '}'"},
      {"{'descr': '<f4' 'fortran_order': False, 'shape': (3,)}", "where ',' or '}' should follow key 'descr'"},
      {"('descr', '<f4')", "does not start with '{'"},
      {"", "does not start with '{'"},
      {"{descr: '<f4'}", "where a quoted key should be"},
  };
  for (const bad& c : cases) {
    CAPTURE(c.dict);
    const std::string message = error_of([&] { (void)fergen::parse_npy(raw_npy(c.dict, 12), "bad.npy"); });
    CHECK_MESSAGE(contains(message, c.message), message);
    CHECK_MESSAGE(message.starts_with("bad.npy: "), message);
  }
}

TEST_CASE("parse_npy: data shorter or longer than the header promises is an error with both sizes") {
  const std::string_view dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
  CHECK(error_of([&] { (void)fergen::parse_npy(raw_npy(dict, 40), "weights.npy"); }) ==
        "weights.npy: data is 40 bytes, header says shape (3, 4) of '<f4' = 48 bytes");
  CHECK(error_of([&] { (void)fergen::parse_npy(raw_npy(dict, 52), "weights.npy"); }) ==
        "weights.npy: data is 52 bytes, header says shape (3, 4) of '<f4' = 48 bytes");
  CHECK_NOTHROW((void)fergen::parse_npy(raw_npy(dict, 48), "weights.npy"));
  // A header promising a terabyte over 8 bytes of data fails before anything of that size is allocated.
  const auto huge = raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (137438953472,), }", 8);
  CHECK(contains(error_of([&] { (void)fergen::parse_npy(huge, "huge.npy"); }), "data is 8 bytes"));
}

TEST_CASE("parse_npy: wrong magic, unknown versions and header lengths past the end are rejected") {
  std::vector<std::byte> good = small_npy();
  auto bad_magic = good;
  bad_magic[1] = std::byte{'X'};
  CHECK(contains(error_of([&] { (void)fergen::parse_npy(bad_magic, "m.npy"); }), "m.npy: not an .npy file"));
  CHECK(contains(error_of([&] { (void)fergen::parse_npy(as_bytes("PK\x03\x04 not numpy"), "z.npy"); }),
                 "not an .npy file"));
  auto v4 = good;
  v4[6] = std::byte{4};
  CHECK(contains(error_of([&] { (void)fergen::parse_npy(v4, "v.npy"); }), "format version 4.0 is not supported"));
  auto v11 = good;
  v11[7] = std::byte{1};
  CHECK(contains(error_of([&] { (void)fergen::parse_npy(v11, "v.npy"); }), "format version 1.1"));
  auto long_header = good;
  long_header[8] = std::byte{0xFF};
  long_header[9] = std::byte{0xFF};
  CHECK(contains(error_of([&] { (void)fergen::parse_npy(long_header, "h.npy"); }),
                 "header length is 65535 bytes but only"));
}

TEST_CASE("parse_npy: every truncation of a valid .npy (v1 and v2) throws fergen::error") {
  for (const auto& bytes : {small_npy(), file_bytes(fixtures / "v2_f4.npy"), file_bytes(fixtures / "scalar_f8.npy")}) {
    REQUIRE_NOTHROW((void)fergen::parse_npy(bytes, "whole.npy"));
    int thrown = 0;
    for (std::size_t k = 0; k < bytes.size(); ++k) {
      try {
        (void)fergen::parse_npy(std::span(bytes).first(k), "cut.npy");
      } catch (const fergen::error&) {
        ++thrown;
      }
    }
    CHECK(thrown == static_cast<int>(bytes.size()));
  }
}

TEST_CASE("parse_npy: 2000 random byte flips each parse consistently or throw fergen::error") {
  const std::vector<std::byte> good = small_npy();
  std::mt19937 rng(20260314);
  int parsed = 0, rejected = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<std::byte> bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 3);
    // Half the flips hit the 128-byte header, where the parser's decisions are.
    for (int f = 0; f < flips; ++f) {
      const std::size_t at = rng() % 2 ? rng() % 128 : rng() % bytes.size();
      bytes[at] ^= static_cast<std::byte>(1 + rng() % 255);
    }
    try {
      const npy_array a = fergen::parse_npy(bytes, "flipped.npy");
      REQUIRE(a.bytes.size() == static_cast<std::size_t>(a.count()) * fergen::size_of(a.dtype));
      ++parsed;
    } catch (const fergen::error&) {
      ++rejected;
    }
  }
  MESSAGE("byte flips: ", parsed, " parsed, ", rejected, " rejected");
  CHECK(parsed > 0);
  CHECK(rejected > 0);
}

TEST_CASE("parse_npy: numpy's big-endian and complex files are rejected naming file and descr") {
  const std::string big = error_of([] { (void)fergen::read_npy(fixtures / "bigendian_f4.npy"); });
  CHECK_MESSAGE(contains(big, "bigendian_f4.npy: descr '>f4' is big-endian"), big);
  const std::string complex = error_of([] { (void)fergen::read_npy(fixtures / "complex_c8.npy"); });
  CHECK_MESSAGE(contains(complex, "complex_c8.npy: descr '<c8' is complex"), complex);
}

TEST_CASE("read_npy: a missing file is an error naming the path and the system's reason") {
  const fs::path missing = scratch / "no_such_dir" / "missing.npy";
  const std::string message = error_of([&] { (void)fergen::read_npy(missing); });
  CHECK_MESSAGE(contains(message, missing.string() + ": cannot open for reading: No such file or directory"), message);
  const std::string directory = error_of([&] { (void)fergen::read_npy(fixtures); });
  CHECK_MESSAGE(contains(directory, fixtures.string()), directory);
}

TEST_CASE("make_npy: the values must fill the shape exactly") {
  const std::vector<float> five(5, 1.f);
  CHECK(error_of([&] {
          (void)fergen::make_npy(five, {2, 3});
        }) == "make_npy: 5 values do not fill shape (2, 3) (6 elements)");
  CHECK(contains(error_of([&] { (void)fergen::make_npy(five, {-5}); }), "negative dimension"));
  const npy_array a = fergen::make_npy(five, {5});
  CHECK(a.dtype == dtype::float32);
  CHECK(a.count() == 5);
  const bool flags[] = {true, false, true};
  const npy_array b = fergen::make_npy(std::span<const bool>(flags), {3});
  CHECK(b.values<int>() == std::vector<int>{1, 0, 1});
  const std::array<std::int64_t, 1> scalar{42};
  CHECK(fergen::make_npy(scalar, {}).values<std::int64_t>() == std::vector<std::int64_t>{42});
}

TEST_CASE("npy_array::values converts numerically and refuses values that do not fit the target") {
  const std::vector<std::int32_t> ints{300, -1, 7};
  const npy_array i = fergen::make_npy(ints, {3});
  CHECK(i.values<double>() == std::vector<double>{300, -1, 7});
  CHECK(i.values<std::int64_t>() == std::vector<std::int64_t>{300, -1, 7});
  CHECK(contains(error_of([&] { (void)i.values<std::int8_t>(); }),
                 "element 0 is 300 ('<i4'), which does not fit in int8"));
  CHECK(contains(error_of([&] { (void)i.values<std::uint32_t>(); }), "element 1 is -1"));
  CHECK(i.values<bool>() == std::vector<bool>{true, true, true});

  const std::vector<double> reals{1.9, -2.5, 0.0};
  const npy_array r = fergen::make_npy(reals, {3});
  CHECK(r.values<int>() == std::vector<int>{1, -2, 0});  // truncation toward zero, as numpy's astype
  CHECK(r.values<float>() == std::vector<float>{1.9f, -2.5f, 0.f});
  const std::vector<double> wild{std::nan(""), 1e300};
  const npy_array w = fergen::make_npy(wild, {2});
  CHECK(contains(error_of([&] { (void)w.values<std::int64_t>(); }), "element 0 is nan"));
  const npy_array big = fergen::make_npy(std::vector<double>{9223372036854775808.0}, {1});
  CHECK(contains(error_of([&] { (void)big.values<std::int64_t>(); }), "does not fit in int64"));
  const npy_array edge = fergen::make_npy(std::vector<double>{-9223372036854775808.0}, {1});
  CHECK(edge.values<std::int64_t>() == std::vector<std::int64_t>{INT64_MIN});

  npy_array inconsistent = i;
  inconsistent.bytes.pop_back();
  CHECK(contains(error_of([&] { (void)inconsistent.values<int>(); }), "bytes holds 11 bytes"));
  CHECK(contains(error_of([&] { (void)fergen::serialize_npy(inconsistent); }), "serialize_npy: bytes holds 11 bytes"));
}

TEST_CASE("serialize_npy: byte-identical to np.save for every C-order fixture") {
  int compared = 0;
  for (const char* name :
       {"f4.npy", "f8.npy", "i1.npy", "i2.npy", "i4.npy", "i8.npy", "u1.npy", "u2.npy", "u4.npy", "u8.npy", "b1.npy",
        "scalar_f8.npy", "scalar_i8.npy", "tuple1_i4.npy", "f4_4d.npy", "empty_f4.npy"}) {
    CAPTURE(name);
    const std::vector<std::byte> numpy = file_bytes(fixtures / name);
    CHECK(fergen::serialize_npy(fergen::parse_npy(numpy, name)) == numpy);
    ++compared;
  }
  CHECK(compared == 16);
  const std::vector<std::byte> bytes = small_npy();
  CHECK((bytes.size() - 24) % 64 == 0);
  CHECK(static_cast<char>(bytes[bytes.size() - 25]) == '\n');
}

TEST_CASE("serialize_npy: a header past 65535 bytes switches to format 2.0 and reads back") {
  const std::vector<std::int64_t> shape(25000, 1);  // "1, " x 25000 is 75000 header bytes
  const std::array<double, 1> one{2.5};
  const std::vector<std::byte> bytes = fergen::serialize_npy(fergen::make_npy(one, shape));
  CHECK(std::to_integer<int>(bytes[6]) == 2);
  CHECK((bytes.size() - 8) % 64 == 0);
  const npy_array back = fergen::parse_npy(bytes, "wide.npy");
  CHECK(back.shape == shape);
  CHECK(back.values<double>() == std::vector<double>{2.5});
  CHECK(std::to_integer<int>(fergen::serialize_npy(fergen::make_npy(one, {1}))[6]) == 1);
}

TEST_CASE("write_npy: fergen reads back and numpy loads every dtype and shape exactly") {
  fs::create_directories(scratch);
  // Values every dtype holds exactly; the numpy script below recomputes them with arange.
  const auto fill = [](dtype t, std::vector<std::int64_t> shape) {
    npy_array a;
    a.dtype = t;
    a.shape = std::move(shape);
    const auto n = static_cast<std::size_t>(a.count());
    fergen::detail::visit_storage(t, [&]<class S>() {
      std::vector<S> v(n);
      for (std::size_t i = 0; i < n; ++i) {
        if (t == dtype::bool_)
          v[i] = static_cast<S>(i % 3 == 0);
        else if constexpr (std::is_floating_point_v<S>)
          v[i] = static_cast<S>(static_cast<double>(i) * 0.25 - 1.5);
        else if constexpr (std::is_signed_v<S>)
          v[i] = static_cast<S>(static_cast<int>(i) * 3 - 5);
        else
          v[i] = static_cast<S>(i * 3 + 1);
      }
      a.bytes.resize(n * sizeof(S));
      if (n > 0) std::memcpy(a.bytes.data(), v.data(), a.bytes.size());
    });
    return a;
  };
  std::vector<std::pair<std::string, npy_array>> written;
  for (const dtype t : fergen::all_dtypes)
    written.emplace_back(std::string(fergen::to_string(t)).substr(1) + "_3x4", fill(t, {3, 4}));
  written.emplace_back("f4_4d", fill(dtype::float32, {2, 3, 4, 5}));
  written.emplace_back("f8_scalar", fill(dtype::float64, {}));
  written.emplace_back("i8_5", fill(dtype::int64, {5}));
  written.emplace_back("u1_empty", fill(dtype::uint8, {0, 3}));
  const std::array<double, 6> specials{std::nan(""), INFINITY, -INFINITY, -0.0, 5e-324, 1.7976931348623157e308};
  written.emplace_back("f8_specials", fergen::make_npy(specials, {6}));
  const std::array<std::int64_t, 2> i64{INT64_MIN, INT64_MAX};
  written.emplace_back("i8_extremes", fergen::make_npy(i64, {2}));
  const std::array<std::uint64_t, 2> u64{0, UINT64_MAX};
  written.emplace_back("u8_extremes", fergen::make_npy(u64, {2}));

  for (const auto& [name, a] : written) {
    const fs::path p = scratch / (name + ".npy");
    fergen::write_npy(p, a);
    const npy_array back = fergen::read_npy(p);
    CHECK(back.dtype == a.dtype);
    CHECK(back.shape == a.shape);
    CHECK(back.bytes == a.bytes);
  }

  const char* script = R"py(
import sys, numpy as np
d = sys.argv[1]
def load(name):
    return np.load(f"{d}/{name}.npy")
def value(code, n):
    i = np.arange(n)
    if code == "b1": return i % 3 == 0
    if code[0] == "f": return i * 0.25 - 1.5
    if code[0] == "i": return i * 3 - 5
    return i * 3 + 1
ok = True
def check(name, dtype, shape, want):
    global ok
    a = load(name)
    want = np.asarray(want, dtype=dtype).reshape(shape)
    good = a.dtype == want.dtype and a.shape == shape and np.array_equal(a, want, equal_nan=a.dtype.kind == "f")
    if not good:
        ok = False
        print("numpy disagrees on", name, a.dtype, a.shape, a.ravel()[:8], file=sys.stderr)
for code in ["f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"]:
    check(code + "_3x4", code if code in ("i1", "u1", "b1") else "<" + code, (3, 4), value(code, 12))
check("f4_4d", "<f4", (2, 3, 4, 5), value("f4", 120))
check("f8_scalar", "<f8", (), value("f8", 1)[0])
check("i8_5", "<i8", (5,), value("i8", 5))
check("u1_empty", "u1", (0, 3), [])
s = load("f8_specials")
check("f8_specials", "<f8", (6,), [np.nan, np.inf, -np.inf, -0.0, 5e-324, 1.7976931348623157e308])
ok = ok and bool(np.signbit(s[3]))
check("i8_extremes", "<i8", (2,), [np.iinfo(np.int64).min, np.iinfo(np.int64).max])
check("u8_extremes", "<u8", (2,), [0, np.iinfo(np.uint64).max])
sys.exit(0 if ok else 1)
)py";
  CHECK_MESSAGE(run_python(script, {scratch.string()}), "numpy could not load what fergen wrote, see stderr");
}

TEST_CASE("write_npy: failures name the path and the system's reason and leave nothing behind") {
  fs::create_directories(scratch);
  const fs::path target = scratch / "no_such_dir" / "w.npy";
  const std::array<float, 2> v{1.f, 2.f};
  const std::string message = error_of([&] { fergen::write_npy(target, fergen::make_npy(v, {2})); });
  CHECK_MESSAGE(contains(message, target.string()), message);
  CHECK_MESSAGE(contains(message, "No such file or directory"), message);

  // Renaming over a directory fails after the data was written: the temporary file must be gone.
  const fs::path blocked = scratch / "blocked.npy";
  fs::create_directories(blocked);
  const std::string rename_message = error_of([&] { fergen::write_npy(blocked, fergen::make_npy(v, {2})); });
  CHECK_MESSAGE(contains(rename_message, blocked.string() + ": cannot rename"), rename_message);
  for (const auto& entry : fs::directory_iterator(scratch))
    CHECK_MESSAGE(!contains(entry.path().filename().string(), ".tmp-"), entry.path().string());

  // Overwriting an existing file replaces it whole.
  const fs::path p = scratch / "overwrite.npy";
  fergen::write_npy(p, fergen::make_npy(v, {2}));
  const std::array<float, 3> w{4.f, 5.f, 6.f};
  fergen::write_npy(p, fergen::make_npy(w, {3}));
  CHECK(fergen::read_npy(p).values<float>() == std::vector<float>{4.f, 5.f, 6.f});
}
