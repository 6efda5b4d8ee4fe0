// Tests of the study at scale: the work list (study_work.hpp) against what run_study does, the split into shards
// (study_shards.hpp), the generator folder (generator_store.hpp), the run's plan.json (study_manifest.hpp), a run
// restarted after a failure, and the merge (study_merge.hpp): shards merged give the unsharded run's results.json
// byte for byte. With the stand-in services of support/study_stand_ins.hpp.
#include <fergen/experiment/generator_store.hpp>
#include <fergen/experiment/study_estimate.hpp>
#include <fergen/experiment/study_manifest.hpp>
#include <fergen/experiment/study_merge.hpp>
#include <fergen/experiment/study_runner.hpp>
#include <fergen/experiment/study_shards.hpp>
#include <fergen/experiment/study_work.hpp>

#include "support/errors.hpp"
#include "support/study_stand_ins.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__unix__)
#include <sys/wait.h>
#include <unistd.h>
#endif

using namespace fergen;
using namespace fergen::experiment;
using fergen::testing::faces;
using fergen::testing::recording_services;
using fergen::testing::slurp;
namespace fs = std::filesystem;

namespace {

study_preset preset_of(const study_plan& plan) {
  study_preset p;
  p.name = "custom";
  p.plan = plan;
  p.generator.preset = "demo";
  p.classifier.size = "small";
  p.classifier.input_size = 32;
  return p;
}

study_plan grid() {
  study_plan plan;
  plan.backbones = {"vgg16", "resnet50"};
  plan.protocols = {protocol::random, protocol::loso};
  plan.trials = 2;
  plan.generator_folds = 2;
  plan.seed = 7;
  return plan;
}

study_results header() {
  study_results h;
  h.fergen_version = "test";
  h.preset = "custom";
  return h;
}

fs::path temp(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("fergen-test-shards-" + name);
  fs::remove_all(dir);
  return dir;
}

// A shard as `fergen study --shard` runs it: plan.json, the generator folder, its units.
study_results run_shard(const study_plan& plan, fergen::shard part, const fs::path& out, const fs::path& store_dir,
                        bool shared, const study_services& services, std::optional<study_results> resume = {}) {
  const study_preset p = preset_of(plan);
  const study_work w = plan_work(faces(), plan, p.generator);
  const shard_assignment a = assign_shards(w, part.count, shared, estimate_settings::of(p, faces().class_count()));
  const study_manifest m =
      make_manifest(study_identity(p, header(), faces()), part, plan, w, a, store_dir, shared, 1);
  fs::create_directories(out);
  write_manifest(out / "plan.json", m);
  const generator_store store(store_dir, m.identity_text());
  study_run_options o = shard_run_options(w, a, part);
  o.store = &store;
  o.resume = std::move(resume);
  return run_study(faces(), plan, services, out, header(), o);
}

std::string merged_json(const std::vector<fs::path>& dirs) {
  std::vector<shard_folder> shards;
  for (const auto& d : dirs) shards.push_back(read_shard_folder(d));
  return to_json(merge_shards(shards).results).dump(2) + "\n";
}

}  // namespace

TEST_CASE("plan_work lists the cells, generators and classifiers run_study runs") {
  const study_plan plan = grid();
  const study_work w = plan_work(faces(), plan, preset_of(plan).generator);
  recording_services s;
  const study_results r = run_study(faces(), plan, s.services(), temp("work"), header());
  CHECK(w.cells() == static_cast<std::int64_t>(r.trials_run.size()));
  CHECK(w.units.size() == 2 * 2 * 2);  // protocols x trials x backbones (one configuration)
  REQUIRE(w.generators.size() == r.generators.size());
  for (std::size_t g = 0; g < w.generators.size(); ++g) {
    CHECK(w.generators[g].key() == r.generators[g].protocol + "/" + r.generators[g].fold);
    CHECK(w.generators[g].train_frames == r.generators[g].train_images);
  }
  CHECK(w.classifier_trainings() == static_cast<std::int64_t>(s.classifier_tests.size()));
  // Each unit reads all of its protocol's generators.
  for (const auto& u : w.units) CHECK(u.generators.size() == (u.protocol == "random" ? 1u : 2u));
}

TEST_CASE("assign_shards: deterministic, every unit in one shard, balanced as LPT promises") {
  study_plan plan = grid();
  plan.configs = {configuration::baseline, configuration::augment, configuration::freeze30};
  plan.backbones = {"vgg16", "resnet50", "inception_v3"};
  const study_preset p = preset_of(plan);
  const study_work w = plan_work(faces(), plan, p.generator);
  const estimate_settings es = estimate_settings::of(p, faces().class_count());
  for (const std::int64_t n : {1, 2, 3, 5, 7}) {
    CAPTURE(n);
    for (const bool shared : {false, true}) {
      const shard_assignment a = assign_shards(w, n, shared, es);
      CHECK(a.unit_shard == assign_shards(w, n, shared, es).unit_shard);
      std::vector<double> load(static_cast<std::size_t>(n), 0.0);
      for (std::size_t u = 0; u < w.units.size(); ++u) {
        REQUIRE(a.unit_shard[u] >= 0);
        REQUIRE(a.unit_shard[u] < n);
        load[static_cast<std::size_t>(a.unit_shard[u])] += a.unit_cost[u];
      }
      for (std::size_t g = 0; g < w.generators.size(); ++g) {
        CHECK(a.generator_shard[g] < n);
        CHECK((a.generator_shard[g] >= 0) == shared);
        if (shared) load[static_cast<std::size_t>(a.generator_shard[g])] += a.generator_cost[g];
      }
      // Greedy on the least loaded shard: no shard exceeds the mean by more than the largest item.
      const double total = std::accumulate(load.begin(), load.end(), 0.0);
      double largest = *std::max_element(a.unit_cost.begin(), a.unit_cost.end());
      if (shared) largest = std::max(largest, *std::max_element(a.generator_cost.begin(), a.generator_cost.end()));
      CHECK(*std::max_element(load.begin(), load.end()) <= total / static_cast<double>(n) + largest + 1e-9);
    }
  }
  // Inception's training at 75x75 costs more than ResNet-50's at 32x32: the estimate weighs networks differently.
  const auto cost_of = [&](const std::string& backbone) {
    for (const auto& u : w.units)
      if (u.backbone == backbone) return unit_seconds(u, es, reference_throughput());
    return 0.0;
  };
  CHECK(cost_of("inception_v3") > cost_of("resnet50"));
}

TEST_CASE("shards merged are the unsharded run, byte for byte: with a shared generator folder and without") {
  const study_plan plan = grid();
  const fs::path root = temp("merge");
  recording_services whole_services;
  run_shard(plan, {}, root / "whole", root / "whole" / "generators", false, whole_services.services());
  const std::string whole = slurp(root / "whole" / "results.json");
  for (const bool shared : {true, false}) {
    CAPTURE(shared);
    const fs::path dir = root / (shared ? "shared" : "local");
    std::vector<fs::path> shards;
    std::size_t generators_trained = 0;
    for (std::int64_t i = 0; i < 3; ++i) {
      recording_services s;
      shards.push_back(dir / str("s", i));
      run_shard(plan, {i, 3}, shards.back(), shared ? dir / "generators" : shards.back() / "generators", shared,
                s.services());
      generators_trained += s.generator_subjects.size();
    }
    CHECK(merged_json(shards) == whole);
    // Shared: each of the 3 generators trained once in all; local: each shard trains those its units read.
    if (shared) CHECK(generators_trained == 3);
    if (!shared) CHECK(generators_trained > 3);
  }
}

TEST_CASE("more shards than units: the empty shards run nothing, and the merge still is the unsharded run") {
  const study_plan plan = grid();  // 8 units
  const fs::path root = temp("many");
  recording_services whole_services;
  run_shard(plan, {}, root / "whole", root / "whole" / "generators", false, whole_services.services());
  std::vector<fs::path> shards;
  int empty = 0;
  for (std::int64_t i = 0; i < 10; ++i) {
    recording_services s;
    shards.push_back(root / str("s", i));
    empty += run_shard(plan, {i, 10}, shards.back(), root / "generators", true, s.services()).trials_run.empty();
  }
  CHECK(empty >= 2);  // 8 units over 10 shards (3 of which train the generators first)
  CHECK(merged_json(shards) == slurp(root / "whole" / "results.json"));
}

TEST_CASE("a run that fails after its first cells resumes from results.json to the same result") {
  const study_plan plan = grid();
  const fs::path root = temp("resume");
  recording_services reference;
  run_shard(plan, {0, 2}, root / "straight", root / "straight" / "generators", false, reference.services());

  recording_services failing;
  study_services services = failing.services();
  int trainings = 0;
  const auto train = services.train_and_test;
  services.train_and_test = [&](const classifier_request& r) {
    if (++trainings == 3) throw std::runtime_error("killed");
    return train(r);
  };
  CHECK_THROWS_AS(run_shard(plan, {0, 2}, root / "killed", root / "killed" / "generators", false, services),
                  std::runtime_error);
  const study_results partial = read_results_json(root / "killed" / "results.json");
  CHECK(!partial.trials_run.empty());
  CHECK(partial.trials_run.size() < read_results_json(root / "straight" / "results.json").trials_run.size());

  std::size_t published = 0;
  for (const auto& e : fs::directory_iterator(root / "killed" / "generators")) published += e.is_directory();
  CHECK(published >= 1);

  recording_services again;
  run_shard(plan, {0, 2}, root / "killed", root / "killed" / "generators", false, again.services(), partial);
  CHECK(slurp(root / "killed" / "results.json") == slurp(root / "straight" / "results.json"));
  // The generators trained before the failure were read from the run's own folder, not trained again.
  CHECK(again.generator_subjects.size() + published == reference.generator_subjects.size());
}

TEST_CASE("merge refuses a missing, duplicated, foreign or unfinished shard, naming it") {
  const study_plan plan = grid();
  const fs::path root = temp("refuse");
  std::vector<fs::path> s;
  for (std::int64_t i = 0; i < 3; ++i) {
    recording_services r;
    s.push_back(root / str("s", i));
    run_shard(plan, {i, 3}, s.back(), root / "generators", true, r.services());
  }
  CHECK(testing::contains(testing::error_of([&] { merged_json({s[0], s[2]}); }), "merge: shard 1/3 is missing"));
  CHECK(testing::contains(testing::error_of([&] { merged_json({s[0], s[1], s[1], s[2]}); }),
                          "merge: shard 1/3 is given twice"));
  study_plan other = plan;
  other.seed = 8;
  recording_services r;
  run_shard(other, {2, 3}, root / "other", root / "other" / "generators", false, r.services());
  CHECK(testing::contains(testing::error_of([&] { merged_json({s[0], s[1], root / "other"}); }),
                          "are shards of different runs (seed=7 in"));
  // A shard with cells missing has not finished.
  study_results cut = read_results_json(s[1] / "results.json");
  cut.trials_run.pop_back();
  write_results_json(s[1] / "results.json", cut);
  CHECK(testing::contains(testing::error_of([&] { merged_json({s[0], s[1], s[2]}); }), "it has not finished"));
  CHECK(testing::contains(testing::error_of([&] { read_shard_folder(root / "none"); }), "is not a folder"));
}

TEST_CASE("plan.json reads back; identities name their first difference") {
  const study_plan plan = grid();
  const study_preset p = preset_of(plan);
  const study_work w = plan_work(faces(), plan, p.generator);
  const shard_assignment a = assign_shards(w, 2, true, estimate_settings::of(p, faces().class_count()));
  const study_manifest m = make_manifest(study_identity(p, header(), faces()), {1, 2}, plan, w, a, "gens", true, 2);
  const fs::path dir = temp("manifest");
  fs::create_directories(dir);
  write_manifest(dir / "plan.json", m);
  const study_manifest back = read_manifest(dir / "plan.json");
  CHECK(back.identity == m.identity);
  CHECK(back.part == m.part);
  CHECK(back.units == m.units);
  CHECK(back.unit_shard == m.unit_shard);
  CHECK(back.generator_keys == m.generator_keys);
  CHECK(back.threads == 2);
  CHECK(back.cells_of(0).size() + back.cells_of(1).size() == static_cast<std::size_t>(w.cells()));
  study_preset q = p;
  q.classifier.lr = 2e-4;
  CHECK(identity_difference(m.identity, study_identity(q, header(), faces()), "a", "b") ==
        "classifier.lr=1e-04 in a, classifier.lr=2e-04 in b");
  // The data is part of the identity: one changed pixel makes another run.
  data::dataset changed = faces();
  data::dataset copy(changed.class_names());
  for (std::int64_t i = 0; i < changed.size(); ++i) {
    data::sample x = changed[i];
    if (i == 3) x.image.pixels[5] += 1;
    copy.add(std::move(x));
  }
  CHECK(dataset_checksum(copy) != dataset_checksum(faces()));
  CHECK(testing::contains(testing::error_of([&] { read_manifest(dir / "missing.json"); }), "cannot read"));
}

TEST_CASE("generator folder: a published generator reads back bit for bit; claims are exclusive until released") {
  const fs::path dir = temp("store");
  const generator_store store(dir, "seed=1\n");
  recording_services s;
  generated_set made = s.services().train_generator(data::dataset_view(faces()), "g", 3);
  trained_generator g{made.images, made.record, {}, {}};
  g.record.protocol = "loso";
  g.record.fold = "sub01";
  g.sample_grid_png = {std::byte{1}, std::byte{2}};
  g.quality = measure_quality(data::dataset_view(faces()), data::dataset_view(*made.images), std::nullopt, "loso",
                              "sub01", 1);
  CHECK(!store.load("loso_sub01", faces().class_names()).has_value());
  {
    const auto claim = store.try_claim("loso_sub01");
    REQUIRE(claim != nullptr);
    CHECK(store.try_claim("loso_sub01") == nullptr);  // held by this live process
    CHECK(testing::contains(store.claim_holder("loso_sub01"), "process "));
    store.publish("loso_sub01", g, faces().class_names());
  }
  CHECK(store.try_claim("loso_sub01") != nullptr);  // released
  const auto back = store.load("loso_sub01", faces().class_names());
  REQUIRE(back.has_value());
  REQUIRE(back->images->size() == made.images->size());
  for (std::int64_t i = 0; i < made.images->size(); ++i) {
    CHECK((*back->images)[i].image == (*made.images)[i].image);
    CHECK((*back->images)[i].label == (*made.images)[i].label);
  }
  CHECK(back->sample_grid_png == g.sample_grid_png);
  CHECK(back->quality.size() == g.quality.size());
  CHECK(back->record.loss_curve == g.record.loss_curve);
  CHECK(testing::contains(testing::error_of([&] { generator_store(dir, "seed=2\n"); }),
                          "holds the generators of another plan (seed=1 in the folder, seed=2 in this run)"));
#if defined(__unix__)
  // A claim left by a process that is gone is taken over.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  {
    std::ofstream f(dir / "loso_sub02.claim");
    f << experiment::detail::host_name() << "\n" << child << "\n";
  }
  CHECK(store.try_claim("loso_sub02") != nullptr);
#endif
}
