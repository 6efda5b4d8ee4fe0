// The study's run on one backend, from services to report: run_study_on<cpu<float>> in study_run.cpp and, in a
// CUDA build, run_study_on<cuda<float>> in study_run_cuda.cu, the tool's one translation unit compiled by nvcc
// (instantiating the study's networks for the GPU costs it about 3 minutes of compilation, so it is alone).
#pragma once

#include <fergen/data/dataset.hpp>
#include <fergen/experiment/report.hpp>
#include <fergen/experiment/study_presets.hpp>
#include <fergen/experiment/study_runner.hpp>
#include <fergen/experiment/study_services.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace fergen::tool {

// Runs the plan with fergen's services on backend B and writes the report; returns the report's path.
// `synthetic`: the given synthetic set (`fergen evaluate`), or null to train a generator per fold.
template <class B>
std::filesystem::path run_study_on(const data::dataset& real, const experiment::study_preset& p,
                                   const experiment::service_options& services_options,
                                   std::shared_ptr<const data::dataset> synthetic, const std::filesystem::path& out,
                                   experiment::study_results header, const experiment::study_run_options& options) {
  auto log = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  experiment::study_services services = experiment::make_study_services<B>(services_options, log);
  if (synthetic) {
    // Every generator of the run hands out the one set: the folds read it in place, whatever their number.
    services.synthetic_given = true;
    services.train_generator = [synthetic](const data::dataset_view&, const std::string&, std::uint64_t) {
      return experiment::generated_set{synthetic, {}, std::nullopt};
    };
  }
  const experiment::study_results r = experiment::run_study(real, p.plan, services, out, std::move(header), options);
  return experiment::write_report(out, r).html;
}

#if FERGEN_TOOL_CUDA
// study_run_cuda.cu: the run on cuda<float> (device.hpp's require_cuda_device chose the device).
std::filesystem::path run_study_on_cuda(const data::dataset& real, const experiment::study_preset& p,
                                        const experiment::service_options& services_options,
                                        std::shared_ptr<const data::dataset> synthetic,
                                        const std::filesystem::path& out, experiment::study_results header,
                                        const experiment::study_run_options& options);
#endif

}  // namespace fergen::tool
