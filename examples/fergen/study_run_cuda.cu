// `fergen study|demo|evaluate|generate --device cuda`: the study's networks and the generator instantiated for
// cuda<float>. Compiled by nvcc, and only in a build with the CUDA backend (FERGEN_TOOL_CUDA); the rest of the tool
// is C++ compiled as usual. One translation unit: nvcc spends some 40 s on the library's headers alone.
#include <fergen/cuda.hpp>

#include "device.hpp"
#include "generate_run.hpp"
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

int run_generate_cuda(const generate_arguments& a, bool per_class_given) {
  return run_generate<cuda<float>>(a, per_class_given);
}

}  // namespace fergen::tool
