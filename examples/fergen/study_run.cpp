// The study's run from plan to report, shared by `fergen study`, `fergen demo` and `fergen evaluate`: the one
// translation unit that instantiates every backbone and the UNet for the study's services on the CPU (on the GPU:
// study_run_cuda.cu).
#include "study_common.hpp"
#include "study_run_on.hpp"

#include <fergen/core/parallel.hpp>
#include <fergen/experiment/report.hpp>
#include <fergen/experiment/study_runner.hpp>
#include <fergen/experiment/study_services.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

namespace fergen::tool {

int run_study_command(study_arguments& a, const CLI::App* cmd, bool evaluate) {
  const auto start = std::chrono::steady_clock::now();
  const experiment::study_preset p = resolve_preset(a, cmd);
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
  const std::filesystem::path out = a.out.empty() ? std::filesystem::path("fergen-" + p.name) : std::filesystem::path(a.out);
  if (evaluate && p.plan.uses_synthetic())
    require(!a.synthetic.empty(), "evaluate: the settings ", a.settings.empty() ? "chosen" : a.settings,
            " use synthetic images: give --synthetic DIR (a `fergen generate` folder), or run `fergen study`, which "
            "trains a generator per fold");
  if (a.device == "cuda") {
#if FERGEN_TOOL_CUDA
    require_cuda_device();
#else
    fail("--device cuda: this fergen was built without CUDA (configure with -DFERGEN_WITH_CUDA=ON on a machine with nvcc)");
#endif
  }

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
  std::filesystem::path html;
#if FERGEN_TOOL_CUDA
  if (a.device == "cuda") {
    html = run_study_on_cuda(real, p, so, synthetic, out, header);
  } else {
    html = run_study_on<cpu<float>>(real, p, so, synthetic, out, header);
  }
#else
  html = run_study_on<cpu<float>>(real, p, so, synthetic, out, header);
#endif
  const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60.0;
  std::printf("done in %.1f min. The report: %s\n", minutes, html.string().c_str());
  return 0;
}

}  // namespace fergen::tool
