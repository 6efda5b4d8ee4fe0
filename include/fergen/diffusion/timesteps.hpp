// fergen/diffusion/timesteps.hpp: which timesteps a sampler visits, and which one comes before each.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/diffusion/names.hpp>

#include <cmath>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

// How `steps` timesteps are spread over T (diffusers' timestep_spacing; Lin et al. 2023, table 2):
//   linspace   round(linspace(0, T - 1, steps)), descending: first T - 1, last 0
//   leading    k * (T // steps) + offset, k = steps - 1 .. 0: last 0 + offset; the first stays below T - 1
//   trailing   round(T - k T / steps) - 1, k = 0 .. steps - 1: first T - 1, the last near T / steps - 1
// Rounding is numpy's (half to even). Trailing and linspace start from pure noise at T - 1; leading does
// not, which matters with few steps.
enum class timestep_spacing { leading, linspace, trailing };

inline constexpr std::pair<std::string_view, timestep_spacing> timestep_spacing_names[] = {
    {"leading", timestep_spacing::leading}, {"linspace", timestep_spacing::linspace},
    {"trailing", timestep_spacing::trailing}};
inline timestep_spacing timestep_spacing_from_name(std::string_view name) {
  return detail::from_name("timestep spacing", name, timestep_spacing_names);
}
inline std::string_view name_of(timestep_spacing s) { return detail::to_name(s, timestep_spacing_names); }

// The descending timesteps a sampler visits. Errors: steps < 1, more steps than T, an offset that leaves
// [0, T), or (never with valid input) a sequence that is not strictly decreasing.
inline std::vector<std::int64_t> sampling_timesteps(std::int64_t train_timesteps, std::int64_t steps,
                                                    timestep_spacing spacing, std::int64_t offset = 0) {
  require(train_timesteps >= 1, "sampling timesteps: T = ", train_timesteps, " diffusion steps; give at least 1");
  require(steps >= 1, "sampling timesteps: ", steps, " sampling steps; give at least 1");
  require(steps <= train_timesteps, "sampling timesteps: ", steps, " sampling steps is more than the model's T = ",
          train_timesteps, " diffusion steps");
  require(offset >= 0, "sampling timesteps: offset ", offset, " is negative");
  const auto n = static_cast<std::size_t>(steps);
  std::vector<std::int64_t> t(n);
  const auto T = static_cast<double>(train_timesteps);
  switch (spacing) {
    case timestep_spacing::linspace: {
      // numpy.linspace: start + i * step, the last element exactly the stop.
      const double step = steps > 1 ? (T - 1) / static_cast<double>(steps - 1) : 0.0;
      for (std::size_t i = 0; i < n; ++i) {
        const double v = i + 1 == n && steps > 1 ? T - 1 : static_cast<double>(i) * step;
        t[n - 1 - i] = static_cast<std::int64_t>(std::nearbyint(v)) + offset;
      }
      break;
    }
    case timestep_spacing::leading: {
      const std::int64_t ratio = train_timesteps / steps;
      for (std::size_t i = 0; i < n; ++i) t[n - 1 - i] = static_cast<std::int64_t>(i) * ratio + offset;
      break;
    }
    case timestep_spacing::trailing: {
      // numpy.arange(T, 0, -ratio) fills T + i * delta with delta = (T - ratio) - T, its first difference,
      // not -ratio itself: on ties (T = 999, 50 steps: 499.5) the two round differently.
      const double ratio = T / static_cast<double>(steps);
      const double delta = (T - ratio) - T;
      for (std::size_t i = 0; i < n; ++i)
        t[i] = static_cast<std::int64_t>(std::nearbyint(T + static_cast<double>(i) * delta)) - 1 + offset;
      break;
    }
  }
  require(t.front() < train_timesteps && t.back() >= 0, "sampling timesteps: ", name_of(spacing), " spacing of ", steps,
          " steps with offset ", offset, " gives timesteps ", t.front(), " .. ", t.back(), ", outside [0, ",
          train_timesteps, ")");
  for (std::size_t i = 1; i < n; ++i)
    require(t[i] < t[i - 1], "sampling timesteps: ", name_of(spacing), " spacing of ", steps, " steps over T = ",
            train_timesteps, " repeats timestep ", t[i]);
  return t;
}

// The timestep the sampler moves to from position i of the sequence: the next entry of the array, or -1 (the
// clean data) after the last. Never t - T / steps, which is wrong whenever T / steps is not an integer or the
// spacing is not uniform (diffusers' DDIM computes it that way).
inline std::int64_t previous_timestep(const std::vector<std::int64_t>& timesteps, std::size_t i) {
  require(i < timesteps.size(), "previous_timestep: position ", i, " is outside a sequence of ", timesteps.size());
  return i + 1 < timesteps.size() ? timesteps[i + 1] : -1;
}

}  // namespace diffusion
FERGEN_END_NAMESPACE
