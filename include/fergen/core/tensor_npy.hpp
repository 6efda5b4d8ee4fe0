// fergen/core/tensor_npy.hpp: tensors to and from .npy arrays (N, C, H, W float32 or float64).
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/npy.hpp>
#include <fergen/core/shape.hpp>
#include <fergen/core/tensor.hpp>

#include <filesystem>
#include <string_view>
#include <vector>

FERGEN_BEGIN_NAMESPACE

// An N, C, H, W array as a tensor of any backend. Anything else is refused with the origin (a file name)
// and the offending shape or dtype in the message: a wrong rank is never guessed into shape.
template <class Backend>
tensor<Backend> tensor_from_npy(const npy_array& array, std::string_view origin) {
  using T = typename Backend::value_type;
  require(array.shape.size() == 4, origin, ": expected a 4-D (N, C, H, W) array, got shape ",
          detail::shape_to_string(array.shape), " (", array.shape.size(), "-D)");
  require(array.dtype == dtype::float32 || array.dtype == dtype::float64, origin, ": expected float32 or float64 ",
          "values, got dtype '", to_string(array.dtype), "'");
  const shape s{array.shape[0], array.shape[1], array.shape[2], array.shape[3]};
  tensor<Backend> t = tensor<Backend>::uninitialized(s);
  t.copy_from(array.template values<T>());
  return t;
}

// The tensor as an N, C, H, W array in the backend's float type.
template <class Backend>
npy_array tensor_to_npy(const tensor<Backend>& t) {
  using T = typename Backend::value_type;
  std::vector<T> values(static_cast<std::size_t>(t.size()));
  t.copy_to(values);
  const shape s = t.shape();
  return make_npy<T>(values, {s.n, s.c, s.h, s.w});
}

template <class Backend>
tensor<Backend> load_tensor(const std::filesystem::path& file) {
  return tensor_from_npy<Backend>(read_npy(file), file.string());
}

template <class Backend>
void save_tensor(const std::filesystem::path& file, const tensor<Backend>& t) {
  write_npy(file, tensor_to_npy(t));
}

FERGEN_END_NAMESPACE
