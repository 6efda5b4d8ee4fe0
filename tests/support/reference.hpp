// tests/support/reference.hpp: reading the PyTorch/numpy reference data that the fixture scripts write.
#pragma once

#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/core/npz.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace fergen::testing {

// The directory a fixture (fergen_add_reference in tests/CMakeLists.txt) wrote its files into.
inline std::filesystem::path reference_dir(const std::string& fixture) {
  return std::filesystem::path(FERGEN_TEST_DATA_DIR) / fixture;
}

// The case names a fixture listed in its index.txt, one per line.
inline std::vector<std::string> reference_cases(const std::string& fixture) {
  std::ifstream in(reference_dir(fixture) / "index.txt");
  REQUIRE_MESSAGE(in.good(), "missing ", (reference_dir(fixture) / "index.txt").string(),
                  ": the fixture script did not run (ctest runs it first; run the whole suite)");
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) names.push_back(line);
  return names;
}

inline npz_archive load_reference(const std::string& fixture, const std::string& name) {
  return read_npz(reference_dir(fixture) / (name + ".npz"));
}

inline const npy_array& member(const npz_archive& archive, const std::string& key) {
  const auto it = archive.find(key);
  REQUIRE_MESSAGE(it != archive.end(), "reference member '", key, "' missing");
  return it->second;
}

// An array of rank <= 4 as a 4-D tensor (missing trailing dimensions become 1).
template <class T>
tensor<cpu<T>> to_tensor(const npy_array& a) {
  REQUIRE(a.shape.size() <= 4);
  std::int64_t e[4] = {1, 1, 1, 1};
  for (std::size_t i = 0; i < a.shape.size(); ++i) e[i] = a.shape[i];
  const std::vector<T> values = a.values<T>();
  return tensor<cpu<T>>::from(values, {e[0], e[1], e[2], e[3]});
}

template <class T>
std::vector<T> values_of(const npz_archive& archive, const std::string& key) {
  return member(archive, key).values<T>();
}

// max |a - b| / max(max |b|, tiny) over the finite reference values: the error measure of the acceptance
// criteria ("within 1e-5"). Non-finite reference values must be matched exactly (NaN by NaN, inf by the same
// inf); any mismatch there, or a non-finite value of ours against a finite reference, makes the result
// infinite, so no comparison passes by accident.
template <class T>
double max_relative_difference(const tensor<cpu<T>>& a, const npy_array& reference) {
  const std::vector<double> b = reference.values<double>();
  REQUIRE(static_cast<std::size_t>(a.size()) == b.size());
  constexpr double infinite = std::numeric_limits<double>::infinity();
  double diff = 0, scale = 1e-30;
  for (std::size_t i = 0; i < b.size(); ++i) {
    const double ours = static_cast<double>(a.data()[i]);
    if (!std::isfinite(b[i])) {
      const bool same = std::isnan(b[i]) ? std::isnan(ours) : ours == b[i];
      if (!same) return infinite;
      continue;
    }
    if (!std::isfinite(ours)) return infinite;
    diff = std::max(diff, std::abs(ours - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return diff / scale;
}

// max |a - b| / max |b| over row `row` of a (rows x count) reference array: one step of a recorded path.
template <class T>
double row_relative_difference(const tensor<cpu<T>>& a, const std::vector<double>& reference, std::size_t row) {
  const std::size_t count = static_cast<std::size_t>(a.size());
  REQUIRE(reference.size() >= (row + 1) * count);
  double diff = 0, scale = 1e-30;
  for (std::size_t j = 0; j < count; ++j) {
    const double b = reference[row * count + j];
    diff = std::max(diff, std::abs(static_cast<double>(a.data()[j]) - b));
    scale = std::max(scale, std::abs(b));
  }
  return diff / scale;
}

}  // namespace fergen::testing
