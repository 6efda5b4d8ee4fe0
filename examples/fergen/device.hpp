// --device: where a command computes: cpu, or in a build with the CUDA backend (FERGEN_TOOL_CUDA, whose GPU runs
// live in study_run_cuda.cu, the tool's one translation unit compiled by nvcc) cuda or cuda:K.
#pragma once

#include <fergen/core/error.hpp>

#include <charconv>
#include <string>
#include <system_error>

namespace fergen::tool {

#if FERGEN_TOOL_CUDA
// study_run_cuda.cu: makes device `index` current, or a one-line error when the process does not see it.
void require_cuda_device(int index);
#endif

// "cpu", "cuda" (the first device the process sees) or "cuda:K" (the K-th, counted within CUDA_VISIBLE_DEVICES
// when it is set, as the CUDA runtime counts: n processes on one machine take cuda:0 ... cuda:n-1, one GPU each).
struct device_choice {
  bool cuda = false;
  int index = 0;

  static device_choice parse(const std::string& text) {
    if (text == "cpu") return {};
    if (text == "cuda") return {true, 0};
    device_choice d{true, -1};
    const char* first = text.data() + 5;
    const char* last = text.data() + text.size();
    const bool numbered = text.size() > 5 && text.compare(0, 5, "cuda:") == 0 &&
                          std::from_chars(first, last, d.index).ptr == last && d.index >= 0;
    require(numbered, "--device '", text, "' is not one of: cpu, cuda, cuda:K (K = 0, 1, ...)");
    return d;
  }
  const char* kind() const { return cuda ? "cuda" : "cpu"; }
};

// Checks the option; true for a CUDA device, which is then the current one. Without the CUDA backend, cuda is a
// one-line error.
inline bool use_cuda(const std::string& device) {
  const device_choice d = device_choice::parse(device);
  if (!d.cuda) return false;
#if FERGEN_TOOL_CUDA
  require_cuda_device(d.index);
#else
  fail("--device ", device, ": this fergen was built without CUDA (configure with -DFERGEN_WITH_CUDA=ON on a machine "
       "with nvcc)");
#endif
  return true;
}

}  // namespace fergen::tool
