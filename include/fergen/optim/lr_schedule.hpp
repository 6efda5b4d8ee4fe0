// fergen/optim/lr_schedule.hpp: learning-rate schedules as small value types (torch.optim.lr_scheduler).
#pragma once

#include <fergen/config.hpp>
#include <fergen/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <numbers>

FERGEN_BEGIN_NAMESPACE
namespace optim {

// A schedule maps (step, base_lr) to the learning rate of that step, step = 0 for the first update: a pure
// function, so resuming at step k needs no scheduler state, only k (the optimiser's steps()). Use:
//   opt.set_lr(schedule(opt.steps(), base_lr)); opt.step(ctx, net);
// Each value equals torch's scheduler.get_last_lr() after `step` calls of scheduler.step(), up to rounding
// (torch updates the rate recursively, these are the closed forms).
template <class S>
concept lr_schedule = std::copyable<S> && requires(const S& s, std::int64_t step, double base_lr) {
  { s(step, base_lr) } -> std::convertible_to<double>;
};

namespace detail {
inline void check_schedule_step(const char* schedule, std::int64_t step) {
  require(step >= 0, schedule, ": step ", step, " is negative");
}
}  // namespace detail

// The base rate at every step.
struct constant_lr {
  void validate() const {}
  double operator()(std::int64_t step, double base_lr) const {
    detail::check_schedule_step("constant_lr", step);
    return base_lr;
  }
};

// torch.optim.lr_scheduler.StepLR: base_lr * gamma^floor(step / step_size).
struct step_lr {
  std::int64_t step_size = 0;
  double gamma = 0.1;

  void validate() const {
    require(step_size > 0, "step_lr: step_size = ", step_size, " must be > 0");
    require(std::isfinite(gamma) && gamma >= 0, "step_lr: gamma = ", gamma, " must be a finite value >= 0");
  }
  double operator()(std::int64_t step, double base_lr) const {
    validate();
    detail::check_schedule_step("step_lr", step);
    return base_lr * std::pow(gamma, static_cast<double>(step / step_size));
  }
};

// torch.optim.lr_scheduler.CosineAnnealingLR(T_max = total_steps, eta_min = min_lr), closed form:
//   min_lr + (base_lr - min_lr) * (1 + cos(pi * step / total_steps)) / 2
// From total_steps on it stays at min_lr; torch's keeps following the cosine back up (a half period later
// it is at base_lr again), which no training run wants.
struct cosine_lr {
  std::int64_t total_steps = 0;
  double min_lr = 0;

  void validate() const {
    require(total_steps > 0, "cosine_lr: total_steps = ", total_steps, " must be > 0");
    require(std::isfinite(min_lr) && min_lr >= 0, "cosine_lr: min_lr = ", min_lr, " must be a finite value >= 0");
  }
  double operator()(std::int64_t step, double base_lr) const {
    validate();
    detail::check_schedule_step("cosine_lr", step);
    const auto t = static_cast<double>(std::min(step, total_steps));
    return min_lr + (base_lr - min_lr) * (1 + std::cos(std::numbers::pi * t / static_cast<double>(total_steps))) / 2;
  }
};

// Linear warm-up, then another schedule, which starts its own step count at 0 when warm-up ends:
//   step < warmup_steps:  base_lr * (step + 1) / warmup_steps      (base_lr / warmup_steps at step 0)
//   otherwise:            inner(step - warmup_steps, base_lr)
// In torch this is SequentialLR([LinearLR(start_factor = 1 / warmup_steps, end_factor = 1,
// total_iters = warmup_steps - 1), inner], milestones = [warmup_steps]), which gives the same values in
// torch 1.13 (the tests compare them). For warm-up then cosine decay over a run of N steps, the inner
// schedule's total_steps is N - warmup_steps.
template <class Inner = constant_lr>
  requires lr_schedule<Inner>
struct linear_warmup {
  std::int64_t warmup_steps = 0;
  Inner inner{};

  void validate() const {
    require(warmup_steps > 0, "linear_warmup: warmup_steps = ", warmup_steps, " must be > 0");
    if constexpr (requires { inner.validate(); }) inner.validate();
  }
  double operator()(std::int64_t step, double base_lr) const {
    validate();
    detail::check_schedule_step("linear_warmup", step);
    if (step < warmup_steps) return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
    return inner(step - warmup_steps, base_lr);
  }
};

}  // namespace optim
FERGEN_END_NAMESPACE
