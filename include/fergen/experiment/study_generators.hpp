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

namespace detail {

inline std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Trains generator `index` of the protocol and records it in `results`: its record, its sample grid (under
// out/figures), its quality against the frames it learned. Returns its synthetic set.
inline std::shared_ptr<const data::dataset> make_synthetic_set(const data::dataset& real, const generator_plan& gen,
                                                               std::size_t index, const std::string& protocol_name,
                                                               const study_plan& plan, const study_services& services,
                                                               const std::filesystem::path& out, study_results& results,
                                                               study_progress& progress) {
  const data::dataset_view train(real, gen.train);
  const std::string label = protocol_name + " " + gen.name;
  const auto start = progress.elapsed();
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
  generator_record rec = std::move(g.record);
  rec.protocol = protocol_name;
  rec.fold = gen.name;
  rec.train_images = train.size();
  rec.held_out_subjects = gen.held_out_subjects;
  rec.synthetic_counts = images.class_counts();
  if (g.sample_grid) {
    std::string stem = "samples_" + protocol_name + "_" + gen.name;
    for (char& c : stem)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
    rec.sample_grid = "figures/" + stem + ".png";
    data::write_png(out / rec.sample_grid, *g.sample_grid);
  }
  results.generators.push_back(rec);

  // Quality against the frames this generator learned.
  std::optional<quality_features> feats;
  if (services.features) feats = services.features(train, images, plan.seed + 77);
  for (auto& q : measure_quality(train, images, feats, protocol_name, gen.name, plan.seed))
    results.quality.push_back(std::move(q));
  const quality_record& all =
      results.quality[results.quality.size() - static_cast<std::size_t>(real.class_count()) - 1];
  log_line(services, str("generator [", label, "]: ", images.size(), " synthetic images; memorised ",
                         data::detail::percent(all.memorization_rate.value_or(0)),
                         all.fid ? str("; FID ", all.fid.value(), " and KID ", all.kid_mean.value(), " in ",
                                       all.feature_space)
                                 : std::string()));
  progress.generator_done(progress.elapsed() - start);
  return std::move(g.images);
}

}  // namespace detail

// The generators of a protocol's folds; when the plan has settings with synthetic images, each trained, recorded
// in `results` and its set kept.
inline protocol_generators train_generators(const data::dataset& real, const std::vector<fold_plan>& folds,
                                            const std::string& protocol_name, const study_plan& plan,
                                            const study_services& services, const std::filesystem::path& out,
                                            study_results& results, study_progress& progress) {
  protocol_generators gens;
  gens.plans = plan_generators(real, folds, plan.generator_folds);
  gens.of_fold.assign(folds.size(), 0);
  for (std::size_t g = 0; g < gens.plans.size(); ++g)
    for (const std::size_t f : gens.plans[g].folds) gens.of_fold[f] = g;
  gens.sets.resize(gens.plans.size());
  if (plan.uses_synthetic())
    for (std::size_t g = 0; g < gens.plans.size(); ++g)
      gens.sets[g] =
          detail::make_synthetic_set(real, gens.plans[g], g, protocol_name, plan, services, out, results, progress);
  return gens;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
