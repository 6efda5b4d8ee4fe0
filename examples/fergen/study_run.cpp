// The study's run from plan to report, shared by `fergen study`, `fergen demo` and `fergen evaluate`: the one
// translation unit that instantiates every backbone and the UNet for the study's services on the CPU (on the GPU:
// study_run_cuda.cu).
#include "study_common.hpp"
#include "study_plan_text.hpp"
#include "study_run_on.hpp"

#include <fergen/core/parallel.hpp>
#include <fergen/experiment/generator_store.hpp>
#include <fergen/experiment/report.hpp>
#include <fergen/experiment/study_estimate.hpp>
#include <fergen/experiment/study_manifest.hpp>
#include <fergen/experiment/study_runner.hpp>
#include <fergen/experiment/study_services.hpp>
#include <fergen/experiment/study_shards.hpp>
#include <fergen/experiment/study_work.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

namespace fergen::tool {

namespace {

// What this process does of the run, and what its folder already holds: the shard's units, the generator folder
// (shared by the shards, or the run's own), and an earlier run of the same plan and shard to resume. Writes
// OUT/plan.json, which says what the folder is a run of.
struct run_setup {
  experiment::study_run_options options;
  std::unique_ptr<experiment::generator_store> store;
};

run_setup prepare_run(const study_arguments& a, const experiment::study_preset& p, const data::dataset& real,
                      const experiment::study_results& header, const std::filesystem::path& out,
                      const experiment::study_work& work, const experiment::shard_assignment& assignment,
                      const fergen::shard& part) {
  namespace fs = std::filesystem;
  const bool shared = !a.generators.empty();
  const fs::path generators = shared ? fs::path(a.generators) : out / "generators";
  const experiment::study_manifest manifest = experiment::make_manifest(
      experiment::study_identity(p, header, real, {{"pretrained", a.pretrained},
                                                   {"device", device_choice::parse(a.device).kind()}}),
      part, p.plan, work, assignment, generators, shared, thread_count());
  const fs::path plan_file = out / "plan.json", results_file = out / "results.json";
  run_setup setup{experiment::shard_run_options(work, assignment, part), nullptr};
  if (a.restart) {
    fs::remove(plan_file);
    fs::remove(results_file);
    if (fs::exists(out / "generators" / "plan.txt")) fs::remove_all(out / "generators");
  } else if (fs::exists(plan_file)) {
    const experiment::study_manifest held = experiment::read_manifest(plan_file);
    std::string difference = experiment::identity_difference(held.identity, manifest.identity, plan_file.string(),
                                                             "this command");
    if (difference.empty() && !(held.part == part))
      difference = str("shard ", held.part.text(), " there, ", part.text(), " here");
    require(difference.empty(), out.string(), " holds a run of another plan (", difference,
            "); give another --out, or --restart to discard it");
    if (fs::exists(results_file)) setup.options.resume = experiment::read_results_json(results_file);
  } else {
    require(!fs::exists(results_file), out.string(), " holds a results.json without the plan.json that says what "
            "it is a run of (an older fergen, or fergen evaluate); give another --out, or --restart to replace it");
  }
  fs::create_directories(out);
  experiment::write_manifest(plan_file, manifest);
  setup.store = std::make_unique<experiment::generator_store>(generators, manifest.identity_text());
  setup.options.store = setup.store.get();
  if (part.sharded())
    std::printf("shard %s: %zu of %zu units (%lld cells), generators %s %s\n", part.text().c_str(),
                setup.options.units->size(), work.units.size(),
                static_cast<long long>(static_cast<std::int64_t>(setup.options.units->size()) * work.settings),
                shared ? "shared in" : "of its own in", generators.string().c_str());
  return setup;
}

}  // namespace

int run_study_command(study_arguments& a, const CLI::App* cmd, bool evaluate) {
  const auto start = std::chrono::steady_clock::now();
  experiment::study_preset p = resolve_preset(a, cmd);
  // The real data: the source given, or the preset's procedural faces.
  if (a.source.casme2.empty() && a.source.folder.empty()) {
    const bool user_faces = cmd->get_option_no_throw("--subjects") != nullptr &&
                            (cmd->count("--subjects") > 0 || cmd->count("--clips-per-class") > 0);
    a.source.procedural = true;
    a.source.faces = p.faces;
    if (!user_faces) {
      a.source.subjects = p.faces.subjects;
      a.source.clips_per_class = p.faces.clips_per_class;
      a.source.casme_imbalance = p.faces.casme_imbalance;
    }
  }
  if (cmd->get_option_no_throw("--size") == nullptr || cmd->count("--size") == 0) a.source.size = p.faces.size;  // the frames' size: the preset's unless given
  experiment::service_options so;
  so.generator = p.generator;
  so.classifier = p.classifier;
  so.feature_backbone = !a.feature_backbone.empty() ? a.feature_backbone
                        : !p.feature_backbone.empty() ? p.feature_backbone
                                                      : p.plan.backbones.front();
  so.pretrained = a.pretrained;
  so.verbose = a.verbose;
  p.feature_backbone = so.feature_backbone;
  const std::filesystem::path out = a.out.empty() ? std::filesystem::path("fergen-" + p.name) : std::filesystem::path(a.out);
  if (evaluate && p.plan.uses_synthetic())
    require(!a.synthetic.empty(), "evaluate: the settings ", a.settings.empty() ? "chosen" : a.settings,
            " use synthetic images: give --synthetic DIR (a `fergen generate` folder), or run `fergen study`, which "
            "trains a generator per fold");
  const bool cuda = !a.plan_only && use_cuda(a.device);
  std::printf("fergen %s: preset %s (%s)\n", evaluate ? "evaluate" : "study", p.name.c_str(), p.description.c_str());
  std::printf("grid: %zu backbone(s) x %zu setting(s) x %zu configuration(s) x %lld trial(s) x %zu protocol(s); %d threads\n",
              p.plan.backbones.size(), p.plan.settings.size(), p.plan.configs.size(),
              static_cast<long long>(p.plan.trials), p.plan.protocols.size(), thread_count());
  const data::dataset real = load_source(a.source);
  std::printf("real data: %s: ", describe_source(a.source).c_str());
  print_summary(real);
  experiment::check_service_options(so, p.plan, real.class_count());
  std::shared_ptr<const data::dataset> synthetic;
  if (!a.synthetic.empty()) {
    synthetic = std::make_shared<const data::dataset>(load_synthetic_folder(a.synthetic, real, p.generator.image_size));
    std::printf("synthetic data: %s: ", a.synthetic.c_str());
    print_summary(*synthetic);
  }

  experiment::study_results header;
  header.fergen_version = FERGEN_VERSION_STRING;
  header.preset = p.name;
  header.data_source = describe_source(a.source);
  header.backbone_size = p.classifier.size;
  header.input_size = p.classifier.input_size;
  header.epochs = p.classifier.epochs;
  run_setup setup;
  if (!evaluate) {
    // The grid as units, and this process's share of it.
    const fergen::shard part = a.shard.empty() ? fergen::shard{} : fergen::shard::parse(a.shard);
    const experiment::study_work work = experiment::plan_work(real, p.plan, p.generator);
    const experiment::estimate_settings estimate = experiment::estimate_settings::of(p, real.class_count());
    const experiment::shard_assignment assignment =
        experiment::assign_shards(work, part.count, !a.generators.empty(), estimate);
    if (a.plan_only) {
      const experiment::throughput_table table =
          a.throughput.empty() ? experiment::reference_throughput() : experiment::read_throughput_csv(a.throughput);
      print_plan(p, work, estimate, table, assignment);
      return 0;
    }
    setup = prepare_run(a, p, real, header, out, work, assignment, part);
  }
  std::filesystem::path html;
#if FERGEN_TOOL_CUDA
  if (cuda) {
    html = run_study_on_cuda(real, p, so, synthetic, out, header, setup.options);
  } else {
    html = run_study_on<cpu<float>>(real, p, so, synthetic, out, header, setup.options);
  }
#else
  (void)cuda;
  html = run_study_on<cpu<float>>(real, p, so, synthetic, out, header, setup.options);
#endif
  const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60.0;
  std::printf("done in %.1f min. The report: %s\n", minutes, html.string().c_str());
  return 0;
}

}  // namespace fergen::tool
