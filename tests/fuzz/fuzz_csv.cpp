// Fuzzes the CSV reader and what reads tables through it: any input must parse or throw fergen::error;
// never crash, leak or read out of bounds. What parses must survive a write-and-read round trip unchanged,
// and go through csv_table and the CASME II sheet reader (skip-and-report, so every row is looked at).
#include <fergen/data/casme2_sheet.hpp>
#include <fergen/data/csv.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  fergen::data::csv_rows rows;
  try {
    rows = fergen::data::parse_csv(text, "fuzz.csv");
  } catch (const fergen::error&) {
    return 0;
  }
  if (fergen::data::parse_csv(fergen::data::format_csv(rows), "again.csv") != rows) std::abort();
  try {
    const fergen::data::csv_table table(rows, "fuzz.csv");
    (void)table.find("Subject");
    for (std::size_t i = 0; i < table.size(); ++i) (void)table.cell(i, 3);
  } catch (const fergen::error&) {
  }
  try {
    (void)fergen::data::parse_casme2_sheet(rows, "fuzz.csv", fergen::data::error_policy::skip_and_report);
  } catch (const fergen::error&) {
  }
  return 0;
}
