// Fuzzes the xlsx reader (zip, relationships, workbook, shared strings, sheet XML, cell values) on whole
// files: any input must read or throw fergen::error; never crash, leak, read out of bounds or allocate
// without bound. What reads goes on through the CASME II sheet reader.
#include <fergen/data/casme2_sheet.hpp>
#include <fergen/data/xlsx.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  for (const char* sheet : {"", "Second"}) {
    try {
      const fergen::data::csv_rows rows = fergen::data::parse_xlsx_sheet(bytes, "fuzz.xlsx", sheet);
      (void)fergen::data::parse_casme2_sheet(rows, "fuzz.xlsx", fergen::data::error_policy::skip_and_report);
    } catch (const fergen::error&) {
    }
  }
  return 0;
}
