// Tests for fergen/core/key_value.hpp: the text format of every run file. Doubles must read back to the same
// bits; lists, records and their bad input are named in messages.
#include <fergen/core/key_value.hpp>

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>
#include "support/errors.hpp"

namespace {

using fergen::testing::contains;
using fergen::testing::error_of;
using namespace fergen;

bool same_bits(double a, double b) { return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b); }

}  // namespace

TEST_CASE("value_text: doubles read back to the same bits, in their shortest form") {
  const std::vector<double> values = {0.0,
                                      -0.0,
                                      0.1,
                                      1.0 / 3.0,
                                      1.23456789e-4,
                                      0.99995,
                                      0.9999999,
                                      0.7071067811865476,
                                      std::nextafter(1.0, 2.0),
                                      std::numeric_limits<double>::min(),
                                      std::numeric_limits<double>::denorm_min(),
                                      std::numeric_limits<double>::max(),
                                      -2.5e-300};
  for (const double v : values) {
    const std::string text = value_text(v);
    const auto back = parse_value<double>(text);
    REQUIRE(back.has_value());
    CHECK_MESSAGE(same_bits(*back, v), text);
  }
  // What an ostream writes by default (6 digits) loses these; the format must not.
  CHECK(value_text(1.23456789e-4) == "0.000123456789");
  CHECK(value_text(0.9999999) == "0.9999999");
  CHECK(value_text(0.1) == "0.1");
  CHECK(value_text(2e-4) == "2e-04");  // the shorter of the fixed and scientific forms
  CHECK(value_text(std::int64_t{-42}) == "-42");
  CHECK(value_text(std::uint64_t{18446744073709551615u}) == "18446744073709551615");
  CHECK(value_text(true) == "1");
  CHECK(value_text(false) == "0");
}

TEST_CASE("parse_value: the whole text or nothing") {
  CHECK(parse_value<std::int64_t>("12") == 12);
  CHECK(parse_value<std::int64_t>("-3") == -3);
  CHECK_FALSE(parse_value<std::int64_t>("").has_value());
  CHECK_FALSE(parse_value<std::int64_t>("12x").has_value());
  CHECK_FALSE(parse_value<std::int64_t>(" 12").has_value());
  CHECK_FALSE(parse_value<std::int64_t>("1.5").has_value());
  CHECK_FALSE(parse_value<std::uint64_t>("-1").has_value());
  CHECK(parse_value<double>("1e-05") == 1e-05);
  CHECK(parse_value<double>("0.0001") == 1e-4);  // older checkpoints wrote doubles like this
  CHECK_FALSE(parse_value<double>("0.1.2").has_value());
  CHECK(parse_value<bool>("1") == true);
  CHECK(parse_value<bool>("false") == false);
  CHECK_FALSE(parse_value<bool>("2").has_value());
}

TEST_CASE("lists: one parser, empty text is the empty list, bad items named") {
  CHECK(parse_list<std::int64_t>("1,2,2", "--channel-mult") == std::vector<std::int64_t>{1, 2, 2});
  CHECK(parse_list<std::int64_t>("", "x").empty());
  CHECK(parse_list<double>("0.1,0.25", "betas") == std::vector<double>{0.1, 0.25});
  CHECK(list_text(std::vector<std::int64_t>{24, 12}) == "24,12");
  CHECK(list_text(std::vector<double>{}) == "");
  const std::vector<double> thirds{1.0 / 3.0, 2.0 / 3.0};
  CHECK(parse_list<double>(list_text(thirds), "x") == thirds);
  CHECK(error_of([] { parse_list<std::int64_t>("1,x", "--attention"); }) == "--attention: 'x' is not an integer");
  CHECK(error_of([] { parse_list<std::int64_t>("1,,2", "--counts"); }) == "--counts: empty item in the list '1,,2'");
  CHECK(error_of([] { parse_list<std::int64_t>("1,", "--counts"); }) == "--counts: empty item in the list '1,'");
  CHECK(error_of([] { split_list("a,,b", ""); }) == "empty item in the list 'a,,b'");
}

TEST_CASE("records: written in order, read with typed getters, every problem named") {
  const key_value_list entries = key_value_writer{}
                                     .add("lr", 1.23456789e-4)
                                     .add("steps", std::int64_t{7})
                                     .add("flag", true)
                                     .add("name", "adamw")
                                     .add("mult", std::vector<std::int64_t>{1, 2})
                                     .entries();
  const std::string text = key_value_text(entries);
  CHECK(text == "lr=0.000123456789\nsteps=7\nflag=1\nname=adamw\nmult=1,2\n");
  const key_value_map map = parse_key_value_text(text, "file");
  const key_value_reader r(map, "file", "trainer option");
  CHECK(same_bits(r.get<double>("lr"), 1.23456789e-4));
  CHECK(r.get<std::int64_t>("steps") == 7);
  CHECK(r.get<bool>("flag"));
  CHECK(r.text("name") == "adamw");
  CHECK(r.list<std::int64_t>("mult") == std::vector<std::int64_t>{1, 2});
  double absent = 0.5;
  r.read("ema_decay", absent);  // keys a file predates keep their defaults
  CHECK(absent == 0.5);
  CHECK_NOTHROW(r.reject_unknown(entries));

  CHECK(error_of([&] { (void)r.get<double>("nope"); }) == "file: the trainer option has no 'nope'");
  CHECK(error_of([&] { (void)r.get<std::int64_t>("lr"); }) ==
        "file: trainer option 'lr' = '0.000123456789' is not an integer");
  CHECK(error_of([&] { (void)r.get<double>("name"); }) == "file: trainer option 'name' = 'adamw' is not a number");
  CHECK(error_of([&] { (void)r.list<double>("name"); }) == "file: trainer option 'name' = 'adamw' is not a number");
  CHECK(error_of([&] { r.reject_unknown({{"lr", ""}}); }) == "file: unknown trainer option key 'flag'");
  CHECK(error_of([] { parse_key_value_text("a=1\nno equals sign\n", "file"); }) ==
        "file: a line without key=value: 'no equals sign'");
  CHECK(error_of([] { parse_key_value_text("=1\n", "file"); }) == "file: a line without key=value: '=1'");
  CHECK(parse_key_value_text("a=x=y\n\n", "file").at("a") == "x=y");  // the first '=' splits
}

TEST_CASE("same_value: numbers compare by value, so older checkpoints still fit") {
  CHECK(same_value("0.0001", "1e-04"));
  CHECK(same_value("1,2", "1,2.0"));
  CHECK(same_value("", ""));
  CHECK_FALSE(same_value("0.000123457", "0.000123456789"));
  CHECK_FALSE(same_value("adam", "adamw"));
  CHECK_FALSE(same_value("1,2", "1"));
}
