// bench_support.hpp: the pieces every benchmark program needs besides its workloads: the median time of a call,
// the command line, and the PyTorch peer run as a child process. One copy here instead of one per program, so
// that all benchmarks time the same way and reject a bad command line the same way.
//
// Plain C++20 (g++ and nvcc both compile it); nothing of CUDA: the CUDA benchmarks pass their stream
// synchronisation in as a function.
#pragma once

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace fergen::bench {

// --- timing --------------------------------------------------------------------------------------------------

// Median seconds per call after `warmups` untimed calls (first-touch allocation, caches, cuDNN's algorithm
// choice), over at least 3 calls and about `seconds` in total, at most `max_calls`. The median rather than the
// mean: on a shared machine one call that waited for the CPU should not move the figure. `finish` runs after
// every call and once after the warm-ups (the CUDA benchmarks pass the stream synchronisation): a call's time is
// then its whole work, queued and finished, and the first timed call does not wait for the warm-ups.
inline double median_seconds(const std::function<void()>& call, double seconds, int warmups = 2,
                             std::size_t max_calls = 50, const std::function<void()>& finish = {}) {
  using clock_type = std::chrono::steady_clock;
  const auto since = [](clock_type::time_point t) {
    return std::chrono::duration<double>(clock_type::now() - t).count();
  };
  for (int i = 0; i < warmups; ++i) call();
  if (finish) finish();
  std::vector<double> samples;
  const auto start = clock_type::now();
  while (samples.size() < 3 || (since(start) < seconds && samples.size() < max_calls)) {
    const auto t = clock_type::now();
    call();
    if (finish) finish();
    samples.push_back(since(t));
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

// --- numbers in text -----------------------------------------------------------------------------------------

// `text` without the spaces, tabs and line ends around it: a peer's line as Python printed it.
inline std::string_view trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

// Reads the whole of `text` as a number of type T. False, with `value` untouched, when any of it is not the
// number or the number does not fit T: "2s", "x" and "" are errors, where std::stoi would throw and std::atof
// would return 0 or the leading part.
template <class T>
bool parse_number(std::string_view text, T& value) {
  T parsed{};
  const char* const end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, parsed);
  if (error != std::errc{} || stop != end) return false;
  value = parsed;
  return true;
}

// The number of a peer's line "<key> <number>" (torch_unet.py's "train 0.52", torch_cuda_networks.py's
// "time 1.3"); nothing when the line is about something else or its number does not read.
inline std::optional<double> keyed_number(std::string_view line, std::string_view key) {
  if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ' ') return std::nullopt;
  double value = 0;
  if (!parse_number(trimmed(line.substr(key.size())), value)) return std::nullopt;
  return value;
}

// --- the command line ----------------------------------------------------------------------------------------

// `--name value` options and `--name` switches, each bound to the caller's variable, which keeps its default
// unless the command line names it. Every error prints what was wrong and the usage line to stderr, so that a
// typo stops the run instead of measuring with a default nobody asked for.
//
//   command_line args("bench_core");
//   args.option("--threads", o.threads, "N").option("--seconds", o.seconds, "S");
//   if (!args.parse(argc, argv)) return 2;
class command_line {
 public:
  explicit command_line(std::string program) : program_(std::move(program)) {}

  // An option with a value, shown in the usage line as "[name value_name]" in the order they are added.
  template <class T>
    requires std::is_same_v<T, int> || std::is_same_v<T, std::int64_t> || std::is_same_v<T, double> ||
             std::is_same_v<T, std::string>
  command_line& option(std::string name, T& target, std::string value_name) {
    entries_.push_back({std::move(name), std::move(value_name), &target});
    return *this;
  }

  // A switch: its name alone sets `target` to true.
  command_line& flag(std::string name, bool& target) {
    entries_.push_back({std::move(name), {}, &target});
    return *this;
  }

  // "<program> [--threads N] [--seconds S] [--tf32]": generated from the entries, so it cannot fall behind them.
  std::string usage() const {
    std::string line = program_;
    for (const auto& e : entries_) line += " [" + e.name + (e.value_name.empty() ? "" : " " + e.value_name) + "]";
    return line;
  }

  // Sets the bound variables from argv[1..argc). False, after the message and the usage line on stderr, for an
  // unknown option, an option without its value, or a value that is not of the option's type.
  bool parse(int argc, const char* const* argv) const {
    for (int i = 1; i < argc; ++i) {
      const std::string_view name = argv[i];
      const auto e = std::find_if(entries_.begin(), entries_.end(), [&](const entry& x) { return x.name == name; });
      if (e == entries_.end()) return fail(std::string("unknown option ").append(name));
      if (std::holds_alternative<bool*>(e->target)) {
        *std::get<bool*>(e->target) = true;
        continue;
      }
      if (i + 1 >= argc) return fail("missing value for " + e->name);
      const std::string_view value = argv[++i];
      // Built by append: g++ 12's optimiser warns a false -Wrestrict on "'" + std::string(value) + ....
      if (!assign(e->target, value))
        return fail(std::string("'").append(value).append("' is not a valid value for ").append(e->name));
    }
    return true;
  }

 private:
  using target_type = std::variant<int*, std::int64_t*, double*, std::string*, bool*>;
  struct entry {
    std::string name;
    std::string value_name;  // empty for a switch
    target_type target;
  };

  static bool assign(const target_type& target, std::string_view value) {
    return std::visit(
        [&](auto* variable) {
          using T = std::remove_pointer_t<decltype(variable)>;
          if constexpr (std::is_same_v<T, std::string>) {
            *variable = std::string(value);
            return true;
          } else if constexpr (std::is_same_v<T, bool>) {
            return false;  // switches take no value; parse() never gets here with one
          } else {
            return parse_number(value, *variable);
          }
        },
        target);
  }

  bool fail(const std::string& what) const {
    std::fprintf(stderr, "%s: %s\nusage: %s\n", program_.c_str(), what.c_str(), usage().c_str());
    return false;
  }

  std::string program_;
  std::vector<entry> entries_;
};

// --- the PyTorch peer ----------------------------------------------------------------------------------------

// Writes `text` to `file_name` in the temporary directory and returns its path: the peer scripts read their work
// list on stdin, and a file redirected to the command keeps the command line short whatever the list's length.
inline std::string temporary_file(const std::string& file_name, const std::string& text) {
  const std::string path = (std::filesystem::temp_directory_path() / file_name).string();
  std::ofstream(path) << text;
  return path;
}

// Runs `command` through the shell and hands each line of its stdout, without the line end, to `on_line` as it
// comes (a peer that runs for minutes shows its progress). The peer's stderr stays the terminal's. False when the
// command cannot be started or exits with a non-zero status: a peer that failed half-way has measured nothing
// that can be paired with ours.
inline bool run_peer(const std::string& command, const std::function<void(std::string_view line)>& on_line) {
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return false;
  std::string line;
  char chunk[512];
  while (std::fgets(chunk, sizeof chunk, pipe)) {
    line += chunk;
    if (line.back() != '\n') continue;  // a line longer than the chunk: read on
    line.pop_back();
    on_line(line);
    line.clear();
  }
  if (!line.empty()) on_line(line);  // a last line without its line end
  return pclose(pipe) == 0;
}

// The peer's stdout read as one number per line, the way the peer scripts print their times. Empty when the
// peer failed or printed a line that is not a number, so that callers see one condition: "not one number per
// workload".
inline std::vector<double> peer_numbers(const std::string& command) {
  std::vector<double> numbers;
  bool all_numbers = true;
  const bool ran = run_peer(command, [&](std::string_view line) {
    double value = 0;
    if (parse_number(trimmed(line), value)) numbers.push_back(value);
    else all_numbers = false;
  });
  if (!ran || !all_numbers) numbers.clear();
  return numbers;
}

}  // namespace fergen::bench
