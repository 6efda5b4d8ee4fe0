// `fergen study|demo|evaluate|generate|train-diffusion --device cuda`: the study's networks, the generator and
// the diffusion training instantiated for cuda<float>. Compiled by nvcc, and only in a build with the CUDA backend (FERGEN_TOOL_CUDA); the rest of the tool
// is C++ compiled as usual. One translation unit: nvcc spends some 40 s on the library's headers alone.
#include <fergen/cuda.hpp>

#include "device.hpp"
#include "generate_run.hpp"
#include "study_run_on.hpp"
#include "train_run.hpp"

namespace fergen::tool {

void require_cuda_device(int index) {
  const std::string option = index == 0 ? std::string("--device cuda") : str("--device cuda:", index);
  const int count = cuda_device_count();
  require(count > 0, option, ": no CUDA device is available to this process (cudaGetDeviceCount found none, or no "
                     "usable driver); use --device cpu");
  require(index < count, option, ": this process sees ", count, " CUDA device", count == 1 ? "" : "s", " (cuda:0",
          count > 1 ? str(" ... cuda:", count - 1) : std::string(), "; CUDA_VISIBLE_DEVICES chooses which)");
  FERGEN_CUDA_CHECK(cudaSetDevice(index));
}

std::filesystem::path run_study_on_cuda(const data::dataset& real, const experiment::study_preset& p,
                                        const experiment::service_options& services_options,
                                        std::shared_ptr<const data::dataset> synthetic,
                                        const std::filesystem::path& out, experiment::study_results header,
                                        const experiment::study_run_options& options) {
  return run_study_on<cuda<float>>(real, p, services_options, std::move(synthetic), out, std::move(header), options);
}

int run_generate_cuda(const generate_arguments& a, bool per_class_given) {
  return run_generate<cuda<float>>(a, per_class_given);
}

diffusion::train_summary train_unet_cuda(const models::unet_config& m, const diffusion::diffusion_config& process,
                                         const diffusion::trainer_options& t, const data::dataset& ds,
                                         const diffusion::train_options& o, bool resume,
                                         const std::filesystem::path& checkpoint_file) {
  return train_unet_on<cuda<float>>(m, process, t, ds, o, resume, checkpoint_file);
}

}  // namespace fergen::tool
