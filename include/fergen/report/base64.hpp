// fergen/report/base64.hpp: RFC 4648 base64, for images embedded in a self-contained HTML report.
#pragma once

#include <fergen/config.hpp>

#include <cstddef>
#include <span>
#include <string>

FERGEN_BEGIN_NAMESPACE
namespace report {

inline std::string base64(std::span<const std::byte> bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (std::to_integer<unsigned>(bytes[i]) << 16) | (std::to_integer<unsigned>(bytes[i + 1]) << 8) |
                       std::to_integer<unsigned>(bytes[i + 2]);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    unsigned v = std::to_integer<unsigned>(bytes[i]) << 16;
    if (rest == 2) v |= std::to_integer<unsigned>(bytes[i + 1]) << 8;
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// A data: URL holding a PNG, for <img src="...">; the prefix alone precedes base64 text made elsewhere.
inline const char* png_data_url_prefix() { return "data:image/png;base64,"; }
inline std::string png_data_url(std::span<const std::byte> png) { return png_data_url_prefix() + base64(png); }

}  // namespace report
FERGEN_END_NAMESPACE
