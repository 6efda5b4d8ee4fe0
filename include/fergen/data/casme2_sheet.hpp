// fergen/data/casme2_sheet.hpp: the CASME II coding sheet (CASME2-coding-*.xlsx, or a CSV export of it) and
// the label sets the literature uses with it.
//
// The sheet is the ground truth of the dataset: one row per clip with its subject, folder name, onset,
// apex and offset frame numbers, action units and estimated emotion. The published sheet has quirks (an
// apex written "/", emotions with stray case or spaces, folder names that differ from the tree), and each
// one handled here is also reported, naming the row, so a reader of the results can see what was assumed.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/csv.hpp>
#include <fergen/data/error_policy.hpp>
#include <fergen/data/xlsx.hpp>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace data {

// The seven emotions of the CASME II sheet, in the order of the reproduced study's tables.
inline constexpr std::string_view casme2_emotions[] = {"happiness", "sadness",    "surprise", "disgust",
                                                       "fear",      "repression", "others"};

// study7:     the study's seven classes in casme2_emotions order.
// five_class: the standard CASME II 5-class protocol: happiness, surprise, disgust, repression, others
//             (fear and sadness have too few clips and are dropped).
// megc3:      MEGC 2019's composite classes: positive (happiness), negative (disgust, repression),
//             surprise; others, fear and sadness are dropped.
enum class casme2_labels { study7, five_class, megc3 };

inline std::string_view to_string(casme2_labels set) {
  switch (set) {
    case casme2_labels::study7:
      return "study7";
    case casme2_labels::five_class:
      return "five_class";
    case casme2_labels::megc3:
      return "megc3";
  }
  fail("casme2_labels: invalid enumerator ", static_cast<int>(set));
}

inline std::vector<std::string> casme2_class_names(casme2_labels set) {
  switch (set) {
    case casme2_labels::study7:
      return {casme2_emotions, casme2_emotions + std::size(casme2_emotions)};
    case casme2_labels::five_class:
      return {"happiness", "surprise", "disgust", "repression", "others"};
    case casme2_labels::megc3:
      return {"positive", "negative", "surprise"};
  }
  fail("casme2_labels: invalid enumerator ", static_cast<int>(set));
}

// The class index of an emotion (one of casme2_emotions) under a label set, or -1 when the set drops it.
inline std::int64_t casme2_class_of(std::string_view emotion, casme2_labels set) {
  if (set == casme2_labels::megc3) {
    if (emotion == "happiness") return 0;
    if (emotion == "disgust" || emotion == "repression") return 1;
    if (emotion == "surprise") return 2;
    return -1;
  }
  const std::vector<std::string> names = casme2_class_names(set);
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == emotion) return static_cast<std::int64_t>(i);
  return -1;
}

// One row of the sheet.
struct casme2_clip {
  std::string subject;   // "sub01"
  std::string filename;  // the clip folder as the sheet names it, stray spaces removed: "EP02_01f"
  std::int64_t onset = -1;
  std::int64_t apex = -1;  // -1 when the sheet gives none ("/", blank)
  std::int64_t offset = -1;
  std::string action_units;
  std::string emotion;   // one of casme2_emotions
  std::int64_t row = 0;  // the sheet row (1 is the header)

  // The frame apex-only selection uses: the apex, or the middle frame when the sheet gives none.
  std::int64_t apex_or_middle() const { return apex >= 0 ? apex : onset + (offset - onset) / 2; }
};

struct casme2_sheet {
  std::string origin;
  std::vector<casme2_clip> clips;     // in sheet order
  std::vector<std::string> warnings;  // every quirk handled and every row skipped, each naming its row
  std::vector<std::int64_t> skipped_rows;
};

namespace detail {

inline std::string_view casme2_trim(std::string_view s) {
  while (!s.empty() && csv_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && csv_space(s.back())) s.remove_suffix(1);
  return s;
}

// A whole non-negative number: "46", and also "46.0", which a CSV export of a number cell may hold.
inline std::optional<std::int64_t> casme2_integer(std::string_view text) {
  text = casme2_trim(text);
  if (text.empty()) return std::nullopt;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc() && end == text.data() + text.size()) return v >= 0 ? std::optional(v) : std::nullopt;
  double d = 0;
  const auto [dend, dec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (dec != std::errc() || dend != text.data() + text.size() || !(d >= 0 && d < 1e15) || d != std::trunc(d))
    return std::nullopt;
  return static_cast<std::int64_t>(d);
}

// "1", "01", "1.0", "sub01", "Sub1" -> "sub01".
inline std::optional<std::string> casme2_subject(std::string_view text) {
  text = casme2_trim(text);
  if (text.size() > 3 && csv_lower(text[0]) == 's' && csv_lower(text[1]) == 'u' && csv_lower(text[2]) == 'b')
    text.remove_prefix(3);
  const std::optional<std::int64_t> n = casme2_integer(text);
  if (!n || *n < 1 || *n > 9999) return std::nullopt;
  return str(*n < 10 ? "sub0" : "sub", *n);
}

inline std::string casme2_lowered(std::string_view s) {
  std::string out;
  for (const char c : s) out += csv_lower(c);
  return out;
}

inline std::string casme2_known_emotions() {
  std::string s;
  for (const auto e : casme2_emotions) s += (s.empty() ? "" : ", ") + std::string(e);
  return s;
}

}  // namespace detail

// Reads the coding sheet from rows (the first non-blank row is the header). Columns are found by name
// (Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame, Estimated Emotion, and Action Units when
// present), case- and space-insensitively, wherever they are. on_error decides what an unreadable subject,
// an empty Filename, an unknown emotion or a clip listed twice does: fail (an error naming the row and
// value) or skip the row and report it. Rows without a usable onset and offset are always skipped and
// reported: there are no frames to take from them.
inline casme2_sheet parse_casme2_sheet(csv_rows rows, std::string origin, error_policy on_error = error_policy::fail) {
  const csv_table table(std::move(rows), origin);
  const std::vector<std::size_t> col =
      table.columns({"Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Estimated Emotion"});
  const std::optional<std::size_t> au_column = table.find("Action Units");
  casme2_sheet sheet;
  sheet.origin = origin;
  std::map<std::string, std::int64_t> seen;  // subject/filename (lower case) -> row

  for (std::size_t i = 0; i < table.size(); ++i) {
    if (table.blank(i)) continue;
    const std::int64_t row = table.row_number(i);
    auto warn = [&](const auto&... parts) { sheet.warnings.push_back(str(origin, ": row ", row, ": ", parts...)); };
    auto skip = [&](const auto&... parts) {
      warn(parts..., "; row skipped");
      sheet.skipped_rows.push_back(row);
    };
    // A problem with the row's identity or label: fatal or skipped, as the caller chose.
    auto reject = [&](const auto&... parts) {
      if (on_error == error_policy::fail) fail(origin, ": row ", row, ": ", parts...);
      skip(parts...);
    };

    casme2_clip clip;
    clip.row = row;
    const std::string_view subject = table.cell(i, col[0]);
    const std::optional<std::string> sub = detail::casme2_subject(subject);
    if (!sub) {
      reject("Subject '", detail::csv_shown(subject), "' is not a subject number (1, 01, 1.0 or sub01)");
      continue;
    }
    clip.subject = *sub;

    const std::string_view filename = table.cell(i, col[1]);
    for (const char c : filename)
      if (!detail::csv_space(c)) clip.filename += c;
    if (clip.filename.empty()) {
      reject("Filename is empty");
      continue;
    }
    if (clip.filename != filename)
      warn("Filename '", detail::csv_shown(filename), "' has stray spaces; read as '", clip.filename, "'");

    const std::string_view emotion = detail::casme2_trim(table.cell(i, col[5]));
    clip.emotion = detail::casme2_lowered(emotion);
    bool known = false;
    for (const auto e : casme2_emotions) known = known || clip.emotion == e;
    if (!known) {
      reject("unknown Estimated Emotion '", detail::csv_shown(table.cell(i, col[5])), "' (known: ",
             detail::casme2_known_emotions(), ")");
      continue;
    }
    if (clip.emotion != table.cell(i, col[5]))
      warn("Estimated Emotion '", detail::csv_shown(table.cell(i, col[5])), "' read as '", clip.emotion, "'");

    const std::string_view onset = table.cell(i, col[2]), offset = table.cell(i, col[4]);
    const std::optional<std::int64_t> on = detail::casme2_integer(onset), off = detail::casme2_integer(offset);
    if (!on || !off) {
      skip(!on ? "OnsetFrame" : "OffsetFrame", " '", detail::csv_shown(!on ? onset : offset),
           "' is not a frame number");
      continue;
    }
    if (*off < *on) {
      skip("OffsetFrame ", *off, " is before OnsetFrame ", *on);
      continue;
    }
    clip.onset = *on;
    clip.offset = *off;
    const std::string_view apex = table.cell(i, col[3]);
    if (const std::optional<std::int64_t> a = detail::casme2_integer(apex)) {
      clip.apex = *a;
    } else {
      warn("ApexFrame '", detail::csv_shown(apex), "' is not a frame number; apex-only selection uses the middle "
           "frame ", clip.apex_or_middle(), " of ", clip.onset, "..", clip.offset);
    }
    if (au_column) clip.action_units = std::string(detail::casme2_trim(table.cell(i, *au_column)));

    const std::string key = clip.subject + "/" + detail::casme2_lowered(clip.filename);
    if (const auto [it, fresh] = seen.emplace(key, row); !fresh) {
      reject("clip ", clip.subject, "/", clip.filename, " is already listed on row ", it->second);
      continue;
    }
    sheet.clips.push_back(std::move(clip));
  }
  return sheet;
}

// Reads the sheet from an .xlsx workbook (its first sheet) or a .csv export, chosen by the extension.
inline casme2_sheet read_casme2_sheet(const std::filesystem::path& file, error_policy on_error = error_policy::fail) {
  const std::string extension = detail::casme2_lowered(file.extension().string());
  if (extension == ".xlsx" || extension == ".xlsm")
    return parse_casme2_sheet(read_xlsx_sheet(file), file.string(), on_error);
  if (extension == ".csv") return parse_casme2_sheet(read_csv(file), file.string(), on_error);
  fail(file.string(), ": the coding sheet must be an .xlsx workbook or a .csv export (extension '", extension, "')");
}

}  // namespace data
FERGEN_END_NAMESPACE
