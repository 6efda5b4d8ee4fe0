// bench_core: sgemm throughput and conv2d forward+backward throughput for ResNet-50's convolutions at
// 160x160, batch 8, against PyTorch (Debian's python3-torch) measured in the same run with the same number
// of threads. Prints a table and the ratios (fergen / PyTorch throughput: above 1 is faster).
//
//   bench_core [--threads N] [--seconds S] [--csv FILE] [--kernels automatic|onednn|onednn_gemm|reference]
//              [--contend] [--paths] [--python /usr/bin/python3]
//
// --paths also times every convolution on each of fergen's paths (oneDNN's primitive, Winograd / im2col over
// oneDNN's sgemm, the OpenBLAS reference) in the same run: the measurements behind cpu_onednn::prefers_primitive.
#include <fergen/backend/cpu/blas.hpp>
#include <fergen/nn/conv2d.hpp>
#include <fergen/nn/initialize.hpp>

#include <omp.h>

#include "bench_support.hpp"
#include "cpu_bench.hpp"

#include <cstdio>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct options {
  int threads = 2;
  double seconds = 1.0;
  std::string csv;
  std::string kernels = "automatic";
  bool contend = false;
  bool paths = false;
  std::string python = "/usr/bin/python3";
  std::string script = FERGEN_BENCHMARK_DIR "/torch_core.py";
};

struct conv_shape {
  std::int64_t in, out, kernel, stride, size;  // square kernel, padding kernel / 2
  int count;                                    // occurrences in ResNet-50
};

// torchvision's ResNet-50 (stride on the 3x3 convolution) on a 160x160 input: every convolution, grouped by
// shape, with how often it occurs (53 in all).
const std::vector<conv_shape> resnet50_convs = {
    {3, 64, 7, 2, 160, 1},
    {64, 64, 1, 1, 40, 1},     {64, 64, 3, 1, 40, 3},     {64, 256, 1, 1, 40, 4},    {256, 64, 1, 1, 40, 2},
    {256, 128, 1, 1, 40, 1},   {128, 128, 3, 2, 40, 1},   {128, 512, 1, 1, 20, 4},   {256, 512, 1, 2, 40, 1},
    {512, 128, 1, 1, 20, 3},   {128, 128, 3, 1, 20, 3},   {512, 256, 1, 1, 20, 1},   {256, 256, 3, 2, 20, 1},
    {256, 1024, 1, 1, 10, 6},  {512, 1024, 1, 2, 20, 1},  {1024, 256, 1, 1, 10, 5},  {256, 256, 3, 1, 10, 5},
    {1024, 512, 1, 1, 10, 1},  {512, 512, 3, 2, 10, 1},   {512, 2048, 1, 1, 5, 3},   {1024, 2048, 1, 2, 10, 1},
    {2048, 512, 1, 1, 5, 2},   {512, 512, 3, 1, 5, 2},
};
constexpr std::int64_t batch = 8;

std::vector<double> run_torch(const options& o, const std::string& work) {
  const std::string input = fergen::bench::temporary_file("fergen-bench-work.txt", work);
  return fergen::bench::peer_numbers(o.python + " " + o.script + " " + std::to_string(o.threads) + " " +
                                     std::to_string(o.seconds) + " < " + input);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  fergen::bench::command_line args("bench_core");
  args.option("--threads", o.threads, "N")
      .option("--seconds", o.seconds, "S")
      .option("--csv", o.csv, "FILE")
      .option("--kernels", o.kernels, "automatic|onednn|onednn_gemm|reference")
      .flag("--contend", o.contend)
      .flag("--paths", o.paths)
      .option("--python", o.python, "PATH");
  if (!args.parse(argc, argv) || !fergen::bench::set_kernels(o.kernels)) return 2;
  const fergen::bench::competing_process competitor(o.contend);
  omp_set_num_threads(o.threads);
  std::printf("bench_core: %d threads, ~%.1f s per measurement%s; PyTorch peer: %s\n", o.threads, o.seconds,
              competitor.running() ? ", with a competing CPU-bound process (--contend)" : "", o.python.c_str());
  fergen::bench::print_machine(o.threads);

  // --- fergen side -------------------------------------------------------------------------------------
  const std::vector<std::int64_t> gemm_sizes = {256, 512, 1024, 2048};
  std::vector<double> ours;
  std::ostringstream work;
  for (const auto n : gemm_sizes) {
    std::vector<float> a(static_cast<std::size_t>(n * n), 1.0f), b(a), c(a);
    ours.push_back(fergen::bench::median_seconds([&] {
      fergen::ops::cpu_blas::parallel_gemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    }, o.seconds));
    work << "gemm " << n << ' ' << n << ' ' << n << '\n';
  }
  using B = fergen::cpu<float>;
  const std::vector<fergen::cpu_kernels> path_kernels = {fergen::cpu_kernels::onednn, fergen::cpu_kernels::onednn_gemm,
                                                         fergen::cpu_kernels::reference};
  std::vector<std::vector<double>> path_seconds;  // per convolution, per path_kernels entry
  for (const auto& s : resnet50_convs) {
    fergen::nn::conv2d<B> conv(s.in, s.out, {.kernel = s.kernel, .stride = s.stride, .padding = s.kernel / 2, .bias = false});
    fergen::nn::initialize(conv, 1);
    const auto x = fergen::tensor<B>::full({batch, s.in, s.size, s.size}, 0.5f);
    const auto dy = fergen::tensor<B>::full(conv.output_shape(x.shape()), 0.25f);
    const auto time_with = [&](fergen::cpu_kernels k) {
      auto ctx = fergen::context<B>::train();
      ctx.resources.kernels = k;
      return fergen::bench::median_seconds([&] {
        conv.forward(ctx, x);
        conv.backward(ctx, dy);
      }, o.seconds);
    };
    ours.push_back(time_with(fergen::default_cpu_kernels()));
    if (o.paths) {
      path_seconds.emplace_back();
      for (const auto k : path_kernels) path_seconds.back().push_back(time_with(k));
    }
    work << "conv " << batch << ' ' << s.in << ' ' << s.size << ' ' << s.size << ' ' << s.out << ' ' << s.kernel << ' '
         << s.kernel << ' ' << s.stride << ' ' << s.stride << ' ' << s.kernel / 2 << ' ' << s.kernel / 2 << '\n';
  }

  // --- PyTorch side, same run ----------------------------------------------------------------------------
  const std::vector<double> theirs = run_torch(o, work.str());
  const bool have_peer = theirs.size() == ours.size();
  if (!have_peer) std::printf("(PyTorch peer unavailable: ratios omitted; install python3-torch)\n");

  std::ofstream csv;
  if (!o.csv.empty()) {
    csv.open(o.csv);
    csv << "kind,shape,count,fergen_seconds,pytorch_seconds,fergen_rate,pytorch_rate,unit,ratio\n";
  }
  std::printf("\n%-28s %12s %12s %8s\n", "sgemm (square)", "fergen", "PyTorch", "ratio");
  for (std::size_t i = 0; i < gemm_sizes.size(); ++i) {
    const double flop = 2.0 * std::pow(static_cast<double>(gemm_sizes[i]), 3);
    const double mine = flop / ours[i] / 1e9, peer = have_peer ? flop / theirs[i] / 1e9 : 0;
    std::printf("%-28s %8.1f GF/s %8.1f GF/s %8.2f\n", ("n = " + std::to_string(gemm_sizes[i])).c_str(), mine, peer,
                have_peer ? mine / peer : 0.0);
    if (csv) csv << "sgemm," << gemm_sizes[i] << ",1," << ours[i] << ',' << (have_peer ? theirs[i] : 0) << ',' << mine
                 << ',' << peer << ",GFLOP/s," << (have_peer ? mine / peer : 0) << '\n';
  }
  std::printf("\n%-28s %5s %12s %12s %8s", "conv2d fwd+bwd, batch 8", "count", "fergen", "PyTorch", "ratio");
  if (o.paths) std::printf("   %12s %12s %12s", "oneDNN conv", "sgemm path", "reference");
  std::printf("\n");
  double total_ours = 0, total_theirs = 0;
  for (std::size_t j = 0; j < resnet50_convs.size(); ++j) {
    const auto& s = resnet50_convs[j];
    const double mine = ours[gemm_sizes.size() + j], peer = have_peer ? theirs[gemm_sizes.size() + j] : 0;
    total_ours += s.count * mine;
    total_theirs += s.count * peer;
    char label[64];
    std::snprintf(label, sizeof label, "%lldx%lld %lld->%lld /%lld @%lld", (long long)s.kernel, (long long)s.kernel,
                  (long long)s.in, (long long)s.out, (long long)s.stride, (long long)s.size);
    std::printf("%-28s %5d %8.1f img/s %6.1f img/s %6.2f", label, s.count, batch / mine, have_peer ? batch / peer : 0.0,
                have_peer ? peer / mine : 0.0);
    if (o.paths)
      for (const double t : path_seconds[j]) std::printf("   %6.1f img/s", batch / t);
    std::printf("\n");
    if (csv) csv << "conv," << label << ',' << s.count << ',' << mine << ',' << peer << ',' << batch / mine << ','
                 << (have_peer ? batch / peer : 0) << ",img/s," << (have_peer ? peer / mine : 0) << '\n';
  }
  std::printf("\nResNet-50's 53 convolutions, forward + backward, batch 8 at 160x160:\n");
  std::printf("  fergen  %.3f s/batch = %.2f img/s\n", total_ours, batch / total_ours);
  if (have_peer) {
    std::printf("  PyTorch %.3f s/batch = %.2f img/s\n", total_theirs, batch / total_theirs);
    std::printf("  ratio (fergen / PyTorch throughput): %.2f\n", total_theirs / total_ours);
    if (csv) csv << "conv_total,resnet50_160_batch8,53," << total_ours << ',' << total_theirs << ',' << batch / total_ours
                 << ',' << batch / total_theirs << ",img/s," << total_theirs / total_ours << '\n';
  }
  return 0;
}
