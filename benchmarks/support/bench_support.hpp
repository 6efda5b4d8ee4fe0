// bench_support.hpp: the pieces every benchmark program needs besides its workloads: the median time of a call,
// the command line, the PyTorch peer run as a child process (once, or kept up and measured in rounds paired with
// ours), and the rows as CSV. One copy here instead of one per program, so that all benchmarks time the same way
// and reject a bad command line the same way.
//
// Plain C++20 and POSIX (g++ and nvcc both compile it); nothing of CUDA: the CUDA benchmarks pass their stream
// synchronisation in as a function.
#pragma once

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
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

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fergen::bench {

// --- timing --------------------------------------------------------------------------------------------------

// The middle value, the upper of the two middle ones for an even count (every benchmark's medians are this one).
inline double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

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
  return median_of(std::move(samples));
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

// --- a peer kept up, and rounds paired with it ---------------------------------------------------------------

// The PyTorch peer as a child process that stays up and measures one workload per request: ask("train 1.5")
// writes the line to the peer's stdin and returns the number on the line it answers. Kept up, the peer's start
// (importing torch, building the network, its warm-up) is paid once however many rounds the benchmark alternates
// with it. The peer's stderr stays the terminal's. A peer that could not start, has exited, or answered a line
// that is not one number answers nothing from then on: its rows say "(failed)" instead of pairing a half-run.
class peer_session {
 public:
  explicit peer_session(const std::string& command) {
    int to_child[2], from_child[2];
    if (::pipe(to_child) != 0) return;
    if (::pipe(from_child) != 0) {
      ::close(to_child[0]);
      ::close(to_child[1]);
      return;
    }
    std::signal(SIGPIPE, SIG_IGN);  // a peer that died makes a write fail, not the benchmark end
    std::fflush(nullptr);           // the child must not print what this process has buffered
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(to_child[0], STDIN_FILENO);
      ::dup2(from_child[1], STDOUT_FILENO);
      for (const int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) ::close(fd);
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    if (pid_ < 0) {
      ::close(to_child[1]);
      ::close(from_child[0]);
      return;
    }
    to_ = ::fdopen(to_child[1], "w");
    from_ = ::fdopen(from_child[0], "r");
    if (!to_ || !from_) stop();
  }
  peer_session(const peer_session&) = delete;
  peer_session& operator=(const peer_session&) = delete;
  ~peer_session() { stop(); }

  bool alive() const { return from_ != nullptr; }

  std::optional<double> ask(const std::string& request) {
    if (!alive()) return std::nullopt;
    if (std::fprintf(to_, "%s\n", request.c_str()) < 0 || std::fflush(to_) != 0) return fail();
    std::string line;
    char chunk[512];
    while (std::fgets(chunk, sizeof chunk, from_)) {
      line += chunk;
      if (line.back() == '\n') break;
    }
    double value = 0;
    if (line.empty() || !parse_number(trimmed(line), value)) return fail();
    return value;
  }

 private:
  std::nullopt_t fail() {
    stop();
    return std::nullopt;
  }
  // Closing its stdin tells the peer to finish; then it is waited for.
  void stop() {
    if (to_) std::fclose(to_);
    if (from_) std::fclose(from_);
    to_ = from_ = nullptr;
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  pid_t pid_ = -1;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
};

// One row measured against the peer in alternating rounds: ours for seconds / rounds, then the peer's for as long,
// `rounds` times; each side's figure is the median over rounds of its rounds' median seconds per call, and the
// ratio (theirs / ours: above 1, fergen is faster) the median of the rounds' ratios. Why rounds: the speed of a
// shared or virtual machine drifts by tens of percent over minutes, and under --contend the competitor's share of
// the cores shifts; two measurements seconds apart see the same machine, two made a minute apart need not. The
// rounds' own ratios are kept, so that a reader sees the spread.
struct paired_row {
  double ours = 0;
  std::optional<double> theirs, ratio;
  std::vector<double> round_ratios;
};

// Each of our rounds is median_seconds of `call` over seconds / rounds, at most round_calls calls, the first
// round after `warmups` untimed calls. The peer is asked "<request> <seconds>", warms up on its first request of a
// workload, and bounds its calls the same way. A round is bounded by its time, not by a count of calls: fifty
// 5-millisecond calls would be a quarter-second sample of a drifting machine.
inline constexpr std::size_t round_calls = 1000;
inline paired_row paired_rounds(const std::function<void()>& call, int warmups, peer_session& peer,
                                const std::string& request, double seconds, int rounds) {
  rounds = std::max(rounds, 1);
  const double each = seconds / rounds;
  std::vector<double> mine, theirs;
  for (int r = 0; r < rounds; ++r) {
    mine.push_back(median_seconds(call, each, r == 0 ? warmups : 0, round_calls));
    if (const auto t = peer.ask(request + " " + std::to_string(each))) theirs.push_back(*t);
  }
  paired_row row;
  row.ours = median_of(mine);
  if (theirs.size() != mine.size()) return row;  // the peer failed on the way: nothing to pair
  row.theirs = median_of(theirs);
  for (std::size_t r = 0; r < mine.size(); ++r) row.round_ratios.push_back(theirs[r] / mine[r]);
  row.ratio = median_of(row.round_ratios);
  return row;
}

// " (rounds 1.41 1.45 1.62)": the rounds' ratios, for the printed table.
inline std::string round_ratios_text(const paired_row& row) {
  if (row.round_ratios.size() < 2) return {};
  std::string text = " (rounds";
  for (const double r : row.round_ratios) {
    char number[32];
    std::snprintf(number, sizeof number, " %.2f", r);
    text += number;
  }
  return text + ")";
}

// --csv FILE of bench_unet and bench_backbones: one line per paired row, with what the row was measured under.
//   benchmark,row,batch,threads,contend,fergen_seconds,pytorch_seconds,fergen_images_per_second,
//   pytorch_images_per_second,ratio,round_ratios
// A row the peer failed on has empty PyTorch fields; round_ratios are separated by spaces.
class paired_csv {
 public:
  paired_csv(const std::string& path, std::string benchmark, int threads, bool contend)
      : benchmark_(std::move(benchmark)), threads_(threads), contend_(contend) {
    if (path.empty()) return;
    out_.open(path);
    if (!out_) {
      std::fprintf(stderr, "%s: cannot write --csv %s\n", benchmark_.c_str(), path.c_str());
      ok_ = false;
      return;
    }
    out_ << "benchmark,row,batch,threads,contend,fergen_seconds,pytorch_seconds,fergen_images_per_second,"
            "pytorch_images_per_second,ratio,round_ratios\n";
  }
  // False when --csv named a file that cannot be written (the message is on stderr).
  bool ok() const { return ok_; }

  void add(const std::string& row_name, std::int64_t batch, const paired_row& row) {
    if (!out_.is_open()) return;
    const auto images = static_cast<double>(batch);
    out_ << benchmark_ << ',' << row_name << ',' << batch << ',' << threads_ << ',' << (contend_ ? 1 : 0) << ','
         << row.ours << ',';
    if (row.theirs) out_ << *row.theirs;
    out_ << ',' << images / row.ours << ',';
    if (row.theirs) out_ << images / *row.theirs;
    out_ << ',';
    if (row.ratio) out_ << *row.ratio;
    out_ << ',';
    for (std::size_t i = 0; i < row.round_ratios.size(); ++i) out_ << (i ? " " : "") << row.round_ratios[i];
    out_ << '\n' << std::flush;
  }

 private:
  std::ofstream out_;
  std::string benchmark_;
  int threads_;
  bool contend_;
  bool ok_ = true;
};

}  // namespace fergen::bench
