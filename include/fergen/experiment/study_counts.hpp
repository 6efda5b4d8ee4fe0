// fergen/experiment/study_counts.hpp: how many synthetic images of each class the reference study generated
// (its Table 2): the study's numbers, used by `fergen study` (generator_settings::study_counts) and by
// `fergen generate --counts study`. The diffusion layer takes counts and knows no study.
#pragma once

#include <fergen/core/error.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

// The synthetic images per class the reference study generated (its Table 2): 15,464 in all.
inline const std::vector<std::pair<std::string, std::int64_t>>& study_generated_counts() {
  static const std::vector<std::pair<std::string, std::int64_t>> counts{
      {"happiness", 2780}, {"sadness", 1632}, {"surprise", 1845}, {"disgust", 3120},
      {"fear", 1760},      {"repression", 2187}, {"others", 2140}};
  return counts;
}

// The study's counts in the order of `class_names`, matched by name; a model with other classes is an error.
inline std::vector<std::int64_t> study_counts_for(const std::vector<std::string>& class_names) {
  const auto& table = study_generated_counts();
  std::string have, want;
  for (const auto& n : class_names) have += (have.empty() ? "" : ", ") + n;
  for (const auto& [n, c] : table) want += (want.empty() ? "" : ", ") + n;
  require(class_names.size() == table.size(), "counts 'study': the model has ", class_names.size(), " classes (", have,
          "), the study's Table 2 has 7 (", want, ")");
  std::vector<std::int64_t> out;
  for (const auto& name : class_names) {
    std::int64_t count = -1;
    for (const auto& [n, c] : table)
      if (n == name) count = c;
    require(count >= 0, "counts 'study': the model's class '", name, "' is not one of the study's (", want, ")");
    out.push_back(count);
  }
  return out;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
