// `fergen study|demo|evaluate --device cuda`: the study's networks instantiated for cuda<float>. Compiled by nvcc,
// and only in a build with the CUDA backend (FERGEN_TOOL_CUDA); the rest of the tool is C++ compiled as usual.
#include <fergen/cuda.hpp>

#include "study_run_on.hpp"

namespace fergen::tool {

void require_cuda_device() {
  require(cuda_device_count() > 0, "--device cuda: no CUDA device is available to this process (cudaGetDeviceCount "
                                   "found none, or no usable driver); use --device cpu");
}

std::filesystem::path run_study_on_cuda(const data::dataset& real, const experiment::study_preset& p,
                                        const experiment::service_options& services_options,
                                        const std::optional<data::dataset>& synthetic,
                                        const std::filesystem::path& out, experiment::study_results header) {
  return run_study_on<cuda<float>>(real, p, services_options, synthetic, out, std::move(header));
}

}  // namespace fergen::tool
