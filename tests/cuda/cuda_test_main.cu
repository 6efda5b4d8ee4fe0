// The CUDA tests' main: without a CUDA device the tests cannot run, and the executable says so and exits
// with 77, which ctest reports as "skipped" (SKIP_RETURN_CODE), never as passed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cuda_runtime.h>

#include <cstdio>

int main(int argc, char** argv) {
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess || devices == 0) {
    std::printf("no CUDA device (%s): the CUDA tests are skipped\n",
                status == cudaSuccess ? "cudaGetDeviceCount found none" : cudaGetErrorString(status));
    return 77;
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess)
    std::printf("CUDA device 0: %s, compute capability %d.%d, %.1f GiB\n", prop.name, prop.major, prop.minor,
                static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
  doctest::Context context(argc, argv);
  return context.run();
}
