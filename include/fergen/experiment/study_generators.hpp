// fergen/experiment/study_generators.hpp: the study's first phase per protocol: its generators, each trained on
// the real frames it may learn and measured against them, and the synthetic sets they make for every trial.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/dataset_view.hpp>
#include <fergen/data/image_io.hpp>
#include <fergen/data/leakage.hpp>
#include <fergen/experiment/folds.hpp>
#include <fergen/experiment/study_contract.hpp>
#include <fergen/experiment/study_plan.hpp>
#include <fergen/experiment/study_progress.hpp>
#include <fergen/experiment/study_results.hpp>
#include <fergen/experiment/synthetic_quality.hpp>

#include <cctype>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

// A protocol's generators: one per fold, or per group of folds (the random protocol's single generator learns
// every real frame, as the study's did).
struct protocol_generators {
  std::vector<generator_plan> plans;
  std::vector<std::size_t> of_fold;  // fold f's generator
  // Generator g's synthetic set; null when the plan has no setting with synthetic images. Shared: every trial,
  // fold and classifier reads the set in place.
  std::vector<std::shared_ptr<const data::dataset>> sets;

  // The folds that share a generator share one synthetic-trained classifier, seeded and counted under the first.
  std::size_t first_fold(std::size_t g) const { return plans[g].folds.front(); }
};

// A generator trained and measured: its set, its record, its quality rows and its sample grid, as PNG bytes (what
// goes to out/figures, and what a generator folder keeps, generator_store.hpp).
struct trained_generator {
  std::shared_ptr<const data::dataset> images;
  generator_record record;
  std::vector<quality_record> quality;
  std::vector<std::byte> sample_grid_png;  // empty: the service made no grid
};

namespace detail {

inline std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// A generator's name as a file name ("loso_sub01_sub02"): its sample grid's under out/figures, its folder in a
// generator store.
inline std::string generator_stem(const std::string& protocol_name, const std::string& fold) {
  std::string stem = protocol_name + "_" + fold;
  for (char& c : stem)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  return stem;
}

inline std::string sample_grid_path(const std::string& protocol_name, const std::string& fold) {
  return "figures/samples_" + generator_stem(protocol_name, fold) + ".png";
}

// Trains generator `index` of the protocol and measures its set against the frames it learned.
inline trained_generator train_generator(const data::dataset& real, const generator_plan& gen, std::size_t index,
                                         const std::string& protocol_name, const study_plan& plan,
                                         const study_services& services, study_progress& progress) {
  const data::dataset_view train(real, gen.train);
  const std::string label = protocol_name + " " + gen.name;
  if (services.synthetic_given) {
    log_line(services, str("generator [", label, "]: the given synthetic set"));
  } else {
    log_line(services, str("generator [", label, "] (", progress.generators_done() + 1, " of ",
                           progress.generators_total(), "): learning ", train.size(), " real frames",
                           gen.sees_test ? std::string(" (every real frame, the test frames included, as the study)")
                                         : str(" (without test subject(s) ", joined(gen.held_out_subjects), ")")));
  }
  generated_set g = services.train_generator(train, label, plan.seed + 1000 * (index + 1));
  require(g.images != nullptr, "study: the generator of ", label, " returned no synthetic set");
  const data::dataset& images = *g.images;
  require(images.class_names() == real.class_names(), "study: the generator of ", label,
          " returned classes that differ from the real set's");
  trained_generator out;
  out.record = std::move(g.record);
  out.record.protocol = protocol_name;
  out.record.fold = gen.name;
  out.record.train_images = train.size();
  out.record.held_out_subjects = gen.held_out_subjects;
  out.record.synthetic_counts = images.class_counts();
  if (g.sample_grid) {
    out.record.sample_grid = sample_grid_path(protocol_name, gen.name);
    out.sample_grid_png = data::encode_png(*g.sample_grid);
  }

  // Quality against the frames this generator learned.
  std::optional<quality_features> feats;
  if (services.features) feats = services.features(train, images, plan.seed + 77);
  out.quality = measure_quality(train, images, feats, protocol_name, gen.name, plan.seed);
  const quality_record& all = out.quality.front();  // "all" comes first
  log_line(services, str("generator [", label, "]: ", images.size(), " synthetic images; memorised ",
                         data::detail::percent(all.memorization_rate.value_or(0)),
                         all.fid ? str("; FID ", all.fid.value(), " and KID ", all.kid_mean.value(), " in ",
                                       all.feature_space)
                                 : std::string()));
  out.images = std::move(g.images);
  return out;
}

// Records a generator in the results and writes its sample grid under out.
inline void record_generator(const trained_generator& g, const std::filesystem::path& out, study_results& results) {
  if (!g.sample_grid_png.empty()) fergen::detail::write_atomically(out / g.record.sample_grid, g.sample_grid_png);
  results.generators.push_back(g.record);
  results.quality.insert(results.quality.end(), g.quality.begin(), g.quality.end());
}

}  // namespace detail

// The generators of a protocol's folds, planned; their sets are obtained by obtain_generators.
inline protocol_generators plan_protocol_generators(const data::dataset& real, const std::vector<fold_plan>& folds,
                                                    const study_plan& plan) {
  protocol_generators gens;
  gens.plans = plan_generators(real, folds, plan.generator_folds);
  gens.of_fold.assign(folds.size(), 0);
  for (std::size_t g = 0; g < gens.plans.size(); ++g)
    for (const std::size_t f : gens.plans[g].folds) gens.of_fold[f] = g;
  gens.sets.resize(gens.plans.size());
  return gens;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
