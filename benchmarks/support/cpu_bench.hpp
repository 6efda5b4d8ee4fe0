// cpu_bench.hpp: what the CPU benchmarks share beyond bench_support.hpp: the lines that say which machine and which
// kernels a figure comes from, the --kernels choice, and the competing process of --contend.
//
// Why print the machine: a ratio against PyTorch depends on the processor (oneDNN generates AVX-512 code where it
// can) and on the OpenBLAS kernel, which the environment may pin (OPENBLAS_CORETYPE); a figure without them cannot be
// compared with another.
#pragma once

#include <fergen/backend/cpu/blas.hpp>
#include <fergen/backend/cpu/kernels.hpp>
#include <fergen/backend/cpu/onednn.hpp>
#include <fergen/core/parallel.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <sys/types.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fergen::bench {

// "AMD EPYC" from /proc/cpuinfo's first "model name", or "unknown processor".
inline std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon != std::string::npos) return std::string(trimmed(std::string_view(line).substr(colon + 1)));
  }
  return "unknown processor";
}

// The lines every CPU benchmark prints under its title: processor, kernels, threads, OpenMP's waiting.
inline void print_machine(int threads) {
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  std::printf("machine: %s, %u hardware threads; fergen threads %d\n", cpu_model().c_str(),
              std::thread::hardware_concurrency(), threads);
  std::printf("kernels: fergen %s; OpenBLAS kernel %s%s%s", std::string(to_string(default_cpu_kernels())).c_str(),
              ops::cpu_blas::openblas_kernel(), coretype ? " (OPENBLAS_CORETYPE=" : "", coretype ? coretype : "");
  if (coretype) std::printf(")");
#if FERGEN_CPU_ONEDNN
  std::printf("; %s", ops::cpu_onednn::describe().c_str());
#else
  std::printf("; built without oneDNN");
#endif
  std::printf("\n");
  // How OpenMP threads wait between kernels (both sides use libgomp, and the peer inherits this environment): on a
  // busy machine the figures depend on it (README, Benchmarks).
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  const char* spin = std::getenv("GOMP_SPINCOUNT");
  std::printf("OpenMP waiting: OMP_WAIT_POLICY=%s, GOMP_SPINCOUNT=%s\n", policy ? policy : "(unset)",
              spin ? spin : "(unset)");
}

// --kernels NAME: the choice of backend/cpu/kernels.hpp for fergen's side. False for an unknown name.
inline bool set_kernels(const std::string& name) {
  for (const auto k : {cpu_kernels::automatic, cpu_kernels::onednn, cpu_kernels::onednn_gemm, cpu_kernels::reference})
    if (to_string(k) == name) {
      set_default_cpu_kernels(k);
      return true;
    }
  std::fprintf(stderr, "unknown --kernels '%s' (automatic, onednn, onednn_gemm, reference)\n", name.c_str());
  return false;
}

// --contend: a second process that spins on the CPU for as long as this object lives, at the benchmark's priority
// and on any core, so that both sides of every ratio run on a machine that is not theirs alone (another user's
// job, a build). Started before fergen's side, stopped after PyTorch's.
class competing_process {
 public:
  competing_process() = default;
  explicit competing_process(bool start) {
    if (!start) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      volatile unsigned long spin = 0;
      for (;;) spin = spin + 1;  // killed by the parent
    }
    if (pid_ < 0) {
      std::fprintf(stderr, "--contend: could not start the competing process\n");
      pid_ = 0;
    }
  }
  competing_process(const competing_process&) = delete;
  competing_process& operator=(const competing_process&) = delete;
  ~competing_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool running() const { return pid_ > 0; }

 private:
  pid_t pid_ = 0;
};

}  // namespace fergen::bench
