// fergen/experiment/study_progress.hpp: how far a study run is, and about how long the rest will take, for its
// progress lines.
#pragma once

#include <fergen/config.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

// Counts of the work done and to do, with the time it took. The time left is estimated from the average
// generator and the average cell so far (a cell's classifier may have been trained by an earlier cell that
// shares it: the average covers both kinds).
class study_progress {
 public:
  // The cells and generators this run has to do (a shard's, less what a restarted run finds done).
  study_progress(std::int64_t cells, std::int64_t generators) : cells_total_(cells), generators_total_(generators) {}

  // Seconds since the run began.
  double elapsed() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

  void generator_done(double seconds) {
    generator_seconds_ += seconds;
    ++generators_done_;
  }
  // A generator found made (read from a generator folder) instead of trained: no longer to do.
  void generator_found() { --generators_total_; }
  void cell_done(double seconds) {
    cell_seconds_ += seconds;
    ++cells_done_;
  }

  std::int64_t generators_done() const { return generators_done_; }
  std::int64_t generators_total() const { return generators_total_; }
  std::int64_t cells_done() const { return cells_done_; }
  std::int64_t cells_total() const { return cells_total_; }

  // After at least one cell.
  double time_left() const {
    double left = static_cast<double>(cells_total_ - cells_done_) * cell_seconds_ / static_cast<double>(cells_done_);
    if (generators_done_ > 0)
      left += static_cast<double>(generators_total_ - generators_done_) * generator_seconds_ /
              static_cast<double>(generators_done_);
    return left;
  }

 private:
  using clock = std::chrono::steady_clock;
  std::int64_t cells_total_ = 0, cells_done_ = 0, generators_total_ = 0, generators_done_ = 0;
  double generator_seconds_ = 0, cell_seconds_ = 0;
  clock::time_point start_ = clock::now();
};

// "42 s", "3 min 05 s".
inline std::string seconds_text(double s) {
  char b[32];
  if (s < 90) {
    std::snprintf(b, sizeof b, "%.0f s", s);
  } else {
    std::snprintf(b, sizeof b, "%.0f min %02.0f s", std::floor(s / 60), std::fmod(s, 60.0));
  }
  return b;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
