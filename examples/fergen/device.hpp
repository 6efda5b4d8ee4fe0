// --device: where a command computes. cuda exists in a build with the CUDA backend (FERGEN_TOOL_CUDA), whose
// GPU runs live in study_run_cuda.cu, the tool's one translation unit compiled by nvcc.
#pragma once

#include <fergen/core/error.hpp>

#include <string>

namespace fergen::tool {

#if FERGEN_TOOL_CUDA
void require_cuda_device();  // study_run_cuda.cu: a one-line error when the process sees no GPU
#endif

// Checks the option; true for cuda, whose device then exists. Without the CUDA backend, cuda is a one-line error.
inline bool use_cuda(const std::string& device) {
  require(device == "cpu" || device == "cuda", "--device '", device, "' is not one of: cpu, cuda");
  if (device == "cpu") return false;
#if FERGEN_TOOL_CUDA
  require_cuda_device();
#else
  fail("--device cuda: this fergen was built without CUDA (configure with -DFERGEN_WITH_CUDA=ON on a machine with nvcc)");
#endif
  return true;
}

}  // namespace fergen::tool
