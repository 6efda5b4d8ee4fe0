// fergen/core/shard.hpp: part i of n of a job that splits into independent pieces (generation's batches, the
// study's grid), numbered from 0 as array jobs number their tasks (Slurm's --array=0-(n-1), GNU parallel's {%}-1).
#pragma once

#include <fergen/core/error.hpp>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

FERGEN_BEGIN_NAMESPACE

struct shard {
  std::int64_t index = 0;
  std::int64_t count = 1;

  void validate() const {
    require(count >= 1 && index >= 0 && index < count, "shard ", index, "/", count,
            " is not a part of the job (give i/n with 0 <= i < n)");
  }
  bool sharded() const { return count > 1; }
  std::string text() const { return str(index, "/", count); }
  friend bool operator==(const shard&, const shard&) = default;

  // "i/n".
  static shard parse(std::string_view text) {
    const std::size_t slash = text.find('/');
    shard s{-1, 0};
    auto number = [&](std::string_view part, std::int64_t& out) {
      const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
      return ec == std::errc() && end == part.data() + part.size();
    };
    require(slash != std::string_view::npos && number(text.substr(0, slash), s.index) &&
                number(text.substr(slash + 1), s.count),
            "shard '", text, "' is not of the form i/n (e.g. 0/2)");
    s.validate();
    return s;
  }
};

FERGEN_END_NAMESPACE
