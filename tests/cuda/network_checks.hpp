// tests/cuda/network_checks.hpp: whole networks built for cuda<float> and cpu<float> from the same seed, run on
// the same inputs: outputs within the acceptance bound max |diff| <= 1e-3 x max |CPU's| (the bound the backbones
// meet against torchvision), in evaluation and training mode, and through a few training steps.
#pragma once

#include "cuda_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace fergen::testing {

// Whole networks: float rounding differs in every layer (fused multiply-adds, cuDNN's and OpenBLAS's orders of
// summation) and accumulates through tens of layers and training-mode normalisations.
constexpr double network_tolerance = 1e-3;

#define FERGEN_CHECK_NETWORK_CLOSE(device_result, host_result, what)                                       \
  do {                                                                                                     \
    const double fergen_difference_ = ::fergen::testing::relative_difference(device_result, host_result); \
    MESSAGE((what) << ": max |diff| / max |CPU| = " << fergen_difference_);                                \
    CHECK(fergen_difference_ <= ::fergen::testing::network_tolerance);                                     \
  } while (false)

// Every parameter and buffer of the two networks within the bound, tensor by tensor (the worst one reported).
template <class HostNet, class DeviceNet>
void check_same_state(HostNet& host_net, DeviceNet& device_net, const char* when, double tolerance) {
  std::vector<std::pair<std::string, host_tensor>> values;
  nn::for_each_parameter(host_net, [&](std::string_view name, auto& p) { values.emplace_back(name, p.value); });
  nn::for_each_buffer(host_net, [&](std::string_view name, auto& b) { values.emplace_back(name, b.value); });
  std::size_t i = 0;
  double worst = -1;
  std::string worst_name;
  const auto compare = [&](std::string_view name, const device_tensor& v) {
    REQUIRE(i < values.size());
    REQUIRE(values[i].first == name);
    const double d = relative_difference(v, values[i].second);
    if (!(d <= worst)) {
      worst = d;
      worst_name = name;
    }
    ++i;
  };
  nn::for_each_parameter(device_net, [&](std::string_view name, auto& p) { compare(name, p.value); });
  nn::for_each_buffer(device_net, [&](std::string_view name, auto& b) { compare(name, b.value); });
  CHECK(i == values.size());
  MESSAGE(std::string(when) << ": worst parameter or buffer " << worst_name << ", max |diff| / max |CPU| = " << worst);
  CHECK(worst <= tolerance);
}

// Seconds since `start`, for the log (the CPU side of these checks is the slow half).
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace fergen::testing
