// Fuzzes the .npz and .npy parsers: any input must parse or throw fergen::error; never crash, leak or read
// out of bounds.
#include <fergen/core/npz.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  try {
    const fergen::npz_archive archive = fergen::parse_npz(bytes, "fuzz.npz");
    for (const auto& [key, array] : archive) (void)array.values<double>();
  } catch (const fergen::error&) {
  }
  try {
    (void)fergen::parse_npy(bytes, "fuzz.npy").values<float>();
  } catch (const fergen::error&) {
  }
  return 0;
}
