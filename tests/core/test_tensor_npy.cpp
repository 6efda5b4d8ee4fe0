// Tests of core/tensor_npy.hpp: tensors to and from .npy, and the refusal of arrays that are not N, C, H, W.
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/core/tensor_npy.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <vector>

using namespace fergen;

TEST_CASE("a tensor survives a round trip through an .npy file, in float32 and float64") {
  const auto dir = std::filesystem::temp_directory_path() / "fergen-test-tensor-npy";
  std::filesystem::create_directories(dir);
  auto t = tensor<cpu<float>>::uninitialized({2, 3, 4, 5});
  for (std::int64_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<float>(i) * 0.5f - 3.0f;
  save_tensor(dir / "t.npy", t);
  const auto back = load_tensor<cpu<float>>(dir / "t.npy");
  CHECK(back.shape() == t.shape());
  CHECK(std::vector<float>(back.values().begin(), back.values().end()) ==
        std::vector<float>(t.values().begin(), t.values().end()));
  // A float32 file read into a double tensor converts exactly.
  const auto wide = load_tensor<cpu<double>>(dir / "t.npy");
  CHECK(wide.data()[7] == static_cast<double>(t.data()[7]));
  CHECK(read_npy(dir / "t.npy").dtype == dtype::float32);
}

TEST_CASE("arrays of the wrong rank or dtype are refused with the file and the shape") {
  const std::vector<float> twelve(12, 1.0f);
  CHECK_THROWS_WITH_AS(tensor_from_npy<cpu<float>>(make_npy<float>(twelve, {3, 4}), "input.npy"),
                       doctest::Contains("input.npy: expected a 4-D (N, C, H, W) array, got shape (3, 4) (2-D)"), error);
  CHECK_THROWS_WITH_AS(tensor_from_npy<cpu<float>>(make_npy<float>(twelve, {1, 1, 2, 3, 2}), "five.npy"),
                       doctest::Contains("got shape (1, 1, 2, 3, 2) (5-D)"), error);
  CHECK_THROWS_WITH_AS(tensor_from_npy<cpu<float>>(make_npy<float>(std::vector<float>{1.0f}, {}), "scalar.npy"),
                       doctest::Contains("got shape () (0-D)"), error);
  const std::vector<std::uint8_t> bytes(12, 1);
  CHECK_THROWS_WITH_AS(tensor_from_npy<cpu<float>>(make_npy<std::uint8_t>(bytes, {1, 1, 3, 4}), "image.npy"),
                       doctest::Contains("image.npy: expected float32 or float64 values, got dtype '|u1'"), error);
  CHECK_THROWS_WITH_AS(load_tensor<cpu<float>>("/nonexistent/x.npy"), doctest::Contains("/nonexistent/x.npy"), error);
}
