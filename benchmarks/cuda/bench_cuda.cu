// bench_cuda: the CUDA backend's throughput against PyTorch on the same GPU, measured in the same run (fp32,
// no AMP, TF32 off on both sides unless --tf32). Prints a table and the ratios (fergen / PyTorch throughput:
// above 1 is faster).
//
//   bench_cuda [--seconds S] [--csv FILE] [--python /usr/bin/python3] [--only SUBSTRING] [--tf32]
//
// Each row is a workload: a name, the work one run does (images, FLOPs, elements), the fergen code that runs
// it, and a one-line spec the PyTorch peer (torch_cuda.py) turns into the same work. Whole networks are rows like
// any other: add_network_workloads() below is where ResNet-50 (160x160, batch 64, training), the UNet (48x48,
// batch 256, training) and DDIM sampling (15,464 images of 48x48, 50 steps) go once models/ has them, with the
// matching entries in torch_cuda.py's BUILDERS.
#include <fergen/cuda_networks.hpp>

#include "bench_support.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace fergen;
using B = cuda<float>;

struct options {
  double seconds = 1.0;
  std::string csv;
  std::string python = "/usr/bin/python3";
  std::string script = FERGEN_BENCHMARK_DIR "/torch_cuda.py";
  std::string only;
  bool tf32 = false;
};

struct workload {
  std::string group;  // the table it is printed in
  std::string name;   // its row
  std::string spec;   // the line torch_cuda.py reads
  double work;        // units of work per run
  std::string unit;   // what work counts, per second: "img/s", "GFLOP/s", "Gelem/s"
  double unit_scale;  // work / unit_scale per second is printed
  // Allocates the workload's tensors and returns the run: called when its turn comes, so only one workload's
  // memory is on the device at a time.
  std::function<std::function<void()>()> make;
};

tensor<B> random_device(shape s, std::uint64_t seed) {
  std::vector<float> v(static_cast<std::size_t>(s.size()));
  const random_stream stream{seed, 1};
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = stream.uniform(i) * 2.0f - 1.0f;
  return tensor<B>::from(v, s);
}

std::string spec_of(const std::vector<std::int64_t>& values, const std::string& kind) {
  std::ostringstream out;
  out << kind;
  for (auto v : values) out << ' ' << v;
  return out.str();
}

// --- workloads -----------------------------------------------------------------------------------------------

void add_gemm_workloads(std::vector<workload>& list, context<B>& ctx) {
  for (const std::int64_t n : {1024, 2048, 4096, 8192}) {
    list.push_back({"sgemm (square)", "n = " + std::to_string(n), spec_of({n, n, n}, "gemm"),
                    2.0 * std::pow(static_cast<double>(n), 3), "GFLOP/s", 1e9, [n, &ctx] {
                      auto a = std::make_shared<tensor<B>>(random_device({n, n, 1, 1}, 1));
                      auto b = std::make_shared<tensor<B>>(random_device({n, n, 1, 1}, 2));
                      auto c = std::make_shared<tensor<B>>(tensor<B>::uninitialized({n, n, 1, 1}));
                      return std::function<void()>([a, b, c, n, &ctx] {
                        ops::cuda_blas::gemm(ctx.resources, false, false, n, n, n, 1.0f, a->data(), n, b->data(), n,
                                             0.0f, c->data(), n);
                      });
                    }});
  }
}

struct conv_shape {
  std::int64_t in, out, kernel, stride, size;  // square kernel, padding kernel / 2
  int count;                                   // occurrences in ResNet-50
};

// torchvision's ResNet-50 on a 160x160 input: every convolution, grouped by shape (53 in all), as bench_core.
const std::vector<conv_shape> resnet50_convs = {
    {3, 64, 7, 2, 160, 1},     {64, 64, 1, 1, 40, 1},    {64, 64, 3, 1, 40, 3},    {64, 256, 1, 1, 40, 4},
    {256, 64, 1, 1, 40, 2},    {256, 128, 1, 1, 40, 1},  {128, 128, 3, 2, 40, 1},  {128, 512, 1, 1, 20, 4},
    {256, 512, 1, 2, 40, 1},   {512, 128, 1, 1, 20, 3},  {128, 128, 3, 1, 20, 3},  {512, 256, 1, 1, 20, 1},
    {256, 256, 3, 2, 20, 1},   {256, 1024, 1, 1, 10, 6}, {512, 1024, 1, 2, 20, 1}, {1024, 256, 1, 1, 10, 5},
    {256, 256, 3, 1, 10, 5},   {1024, 512, 1, 1, 10, 1}, {512, 512, 3, 2, 10, 1},  {512, 2048, 1, 1, 5, 3},
    {1024, 2048, 1, 2, 10, 1}, {2048, 512, 1, 1, 5, 2},  {512, 512, 3, 1, 5, 2},
};
constexpr std::int64_t batch = 64;  // the study's ResNet-50 batch

void add_conv_workloads(std::vector<workload>& list, context<B>& ctx) {
  for (const auto& s : resnet50_convs) {
    char label[64];
    std::snprintf(label, sizeof label, "%lldx%lld %lld->%lld /%lld @%lld x%d", (long long)s.kernel, (long long)s.kernel,
                  (long long)s.in, (long long)s.out, (long long)s.stride, (long long)s.size, s.count);
    list.push_back(
        {"ResNet-50 conv2d fwd+bwd, batch 64 at 160x160", label,
         spec_of(
             {batch, s.in, s.size, s.size, s.out, s.kernel, s.kernel, s.stride, s.stride, s.kernel / 2, s.kernel / 2},
             "conv"),
         static_cast<double>(batch), "img/s", 1.0, [s, &ctx] {
           auto conv = std::make_shared<nn::conv2d<B>>(
               s.in, s.out,
               nn::conv2d_options{.kernel = s.kernel, .stride = s.stride, .padding = s.kernel / 2, .bias = false});
           nn::initialize(*conv, 1);
           auto x = std::make_shared<tensor<B>>(random_device({batch, s.in, s.size, s.size}, 3));
           auto dy = std::make_shared<tensor<B>>(random_device(conv->output_shape(x->shape()), 4));
           return std::function<void()>([conv, x, dy, &ctx] {
             conv->forward(ctx, *x);
             conv->backward(ctx, *dy);
           });
         }});
  }
}

// The other ops at the sizes the networks run them: forward + backward of one layer, or one optimiser step.
template <class Layer>
std::function<std::function<void()>()> layer_runner(std::function<Layer()> make, shape input, context<B>& ctx) {
  return [make, input, &ctx] {
    auto layer = std::make_shared<Layer>(make());
    nn::initialize(*layer, 1);
    auto x = std::make_shared<tensor<B>>(random_device(input, 5));
    auto dy = std::make_shared<tensor<B>>(random_device(layer->output_shape(input), 6));
    return std::function<void()>([layer, x, dy, &ctx] {
      layer->forward(ctx, *x);
      layer->backward(ctx, *dy);
    });
  };
}

void add_op_workloads(std::vector<workload>& list, context<B>& ctx) {
  const std::string group = "layers fwd+bwd (the networks' sizes)";
  const auto images = [](const shape& s) { return static_cast<double>(s.n); };
  {
    const shape s{64, 256, 40, 40};
    list.push_back({group, "batch_norm2d 256 @40, batch 64", spec_of({s.n, s.c, s.h, s.w}, "batch_norm"), images(s),
                    "img/s", 1.0, layer_runner<nn::batch_norm2d<B>>([] { return nn::batch_norm2d<B>(256); }, s, ctx)});
  }
  {
    const shape s{256, 128, 24, 24};
    list.push_back({group, "group_norm 32x128 @24, batch 256", spec_of({s.n, s.c, s.h, s.w, 32}, "group_norm"),
                    images(s), "img/s", 1.0,
                    layer_runner<nn::group_norm<B>>([] { return nn::group_norm<B>(32, 128); }, s, ctx)});
  }
  {
    const shape s{64, 256, 40, 40};
    list.push_back({group, "relu 256 @40, batch 64", spec_of({s.n, s.c, s.h, s.w}, "relu"), images(s), "img/s", 1.0,
                    layer_runner<nn::relu<B>>([] { return nn::relu<B>{}; }, s, ctx)});
  }
  {
    const shape s{256, 128, 24, 24};
    list.push_back({group, "silu 128 @24, batch 256", spec_of({s.n, s.c, s.h, s.w}, "silu"), images(s), "img/s", 1.0,
                    layer_runner<nn::silu<B>>([] { return nn::silu<B>{}; }, s, ctx)});
  }
  {
    const shape s{64, 64, 80, 80};
    list.push_back({group, "max_pool2d 3x3/2 p1 64 @80, batch 64", spec_of({s.n, s.c, s.h, s.w}, "max_pool"), images(s),
                    "img/s", 1.0,
                    layer_runner<nn::max_pool2d<B>>(
                        [] { return nn::max_pool2d<B>({.kernel = 3, .stride = 2, .padding = 1}); }, s, ctx)});
  }
  {
    const shape s{64, 2048, 5, 5};
    list.push_back({group, "adaptive_avg_pool2d 2048 @5 -> 1, batch 64",
                    spec_of({s.n, s.c, s.h, s.w}, "adaptive_avg_pool"), images(s), "img/s", 1.0,
                    layer_runner<nn::adaptive_avg_pool2d<B>>(
                        [] {
                          return nn::adaptive_avg_pool2d<B>({1, 1});
                        },
                        s, ctx)});
  }
  {
    const shape s{256, 128, 12, 12};
    list.push_back({group, "upsample_nearest x2 128 @12, batch 256", spec_of({s.n, s.c, s.h, s.w}, "upsample"),
                    images(s), "img/s", 1.0,
                    layer_runner<nn::upsample_nearest<B>>([] { return nn::upsample_nearest<B>(2); }, s, ctx)});
  }
  {
    const shape s{64, 2048, 1, 1};
    list.push_back({group, "linear 2048 -> 1000, batch 64", spec_of({s.n, 2048, 1000}, "linear"), images(s), "img/s",
                    1.0, layer_runner<nn::linear<B>>([] { return nn::linear<B>(2048, 1000); }, s, ctx)});
  }
  {
    // One Adam step over as many parameters as ResNet-50 has, as one tensor.
    const std::int64_t parameters = 25'557'032;
    list.push_back(
        {"optimiser steps", "adam, 25.6M parameters (ResNet-50)", spec_of({parameters}, "adam"),
         static_cast<double>(parameters), "Gelem/s", 1e9, [&ctx, parameters] {
           auto p = std::make_shared<tensor<B>>(random_device({parameters, 1, 1, 1}, 7));
           auto g = std::make_shared<tensor<B>>(random_device({parameters, 1, 1, 1}, 8));
           auto m = std::make_shared<tensor<B>>(tensor<B>({parameters, 1, 1, 1}));
           auto v = std::make_shared<tensor<B>>(tensor<B>({parameters, 1, 1, 1}));
           auto step = std::make_shared<std::int64_t>(0);
           return std::function<void()>([p, g, m, v, step, &ctx] {
             ops::optimizer_steps<B>::adam_step(ctx, *p, *g, *m, *v, {1e-3, 0.9, 0.999, 1e-8, 0.0, false, ++*step});
           });
         }});
  }
}

// Whole networks, once models/ (issues 5 and 6) provides them: one row each, e.g.
//   {"networks", "ResNet-50 training, 160x160, batch 64", "resnet50_train 64 160", 64, "img/s", 1, ...}
//   {"networks", "UNet training, 48x48, batch 256", "unet_train 256 48", 256, "img/s", 1, ...}
//   {"networks", "DDIM 50 steps, 15,464 images of 48x48", "ddim 15464 48 50", 15464, "img/s", 1, ...}
// with the same kinds in torch_cuda.py's BUILDERS.
void add_network_workloads(std::vector<workload>&, context<B>&) {}

std::vector<double> run_torch(const options& o, const std::vector<workload>& list) {
  std::string specs;
  for (const auto& w : list) specs += w.spec + '\n';
  const std::string input = bench::temporary_file("fergen-bench-cuda-work.txt", specs);
  return bench::peer_numbers(o.python + " " + o.script + " " + std::to_string(o.seconds) + (o.tf32 ? " tf32" : "") +
                             " < " + input);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  bench::command_line args("bench_cuda");
  args.option("--seconds", o.seconds, "S")
      .option("--csv", o.csv, "FILE")
      .option("--python", o.python, "PATH")
      .option("--only", o.only, "SUBSTRING")
      .flag("--tf32", o.tf32);
  if (!args.parse(argc, argv)) return 2;
  if (cuda_device_count() == 0) {
    std::printf("bench_cuda: no CUDA device; nothing to measure\n");
    return 77;
  }
  cudaDeviceProp prop{};
  FERGEN_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("bench_cuda: %s; ~%.1f s per measurement; fp32, TF32 %s; PyTorch peer: %s\n", prop.name, o.seconds,
              o.tf32 ? "on" : "off", o.python.c_str());

  auto ctx = context<B>::train(1);
  ctx.resources.allow_tf32 = o.tf32;
  std::vector<workload> all, list;
  add_gemm_workloads(all, ctx);
  add_conv_workloads(all, ctx);
  add_op_workloads(all, ctx);
  add_network_workloads(all, ctx);
  for (auto& w : all)
    if (o.only.empty() || (w.group + " " + w.name).find(o.only) != std::string::npos) list.push_back(std::move(w));

  // --- fergen side: one workload's tensors on the device at a time -------------------------------------------
  std::vector<double> ours;
  for (const auto& w : list) {
    const std::function<void()> run = w.make();
    // Two warm-up runs, at most 200 timed ones; the GPU synchronised after every run, so that a run is the whole
    // work, queued and finished.
    ours.push_back(bench::median_seconds(run, o.seconds, 2, 200, [&ctx] { ctx.resources.synchronize(); }));
  }

  // --- PyTorch side, same run, same GPU ------------------------------------------------------------------------
  const std::vector<double> theirs = run_torch(o, list);
  const bool have_peer = theirs.size() == ours.size();
  if (!have_peer) std::printf("(PyTorch peer unavailable or failed: ratios omitted)\n");

  std::ofstream csv;
  if (!o.csv.empty()) {
    csv.open(o.csv);
    csv << "group,name,fergen_seconds,pytorch_seconds,fergen_rate,pytorch_rate,unit,ratio\n";
  }
  std::string group;
  double conv_ours = 0, conv_theirs = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& w = list[i];
    if (w.group != group) {
      group = w.group;
      std::printf("\n%-46s %14s %14s %8s\n", group.c_str(), "fergen", "PyTorch", "ratio");
    }
    const double mine = w.work / ours[i] / w.unit_scale;
    const double peer = have_peer ? w.work / theirs[i] / w.unit_scale : 0.0;
    std::printf("%-46s %8.1f %-5s %8.1f %-5s %8.2f\n", w.name.c_str(), mine, w.unit.c_str(), peer, w.unit.c_str(),
                have_peer ? mine / peer : 0.0);
    if (csv)
      csv << '"' << w.group << "\",\"" << w.name << "\"," << ours[i] << ',' << (have_peer ? theirs[i] : 0) << ','
          << mine << ',' << peer << ',' << w.unit << ',' << (have_peer ? mine / peer : 0) << '\n';
    if (w.spec.rfind("conv ", 0) == 0) {
      const int count = std::atoi(w.name.substr(w.name.rfind('x') + 1).c_str());
      conv_ours += count * ours[i];
      conv_theirs += count * (have_peer ? theirs[i] : 0);
    }
  }
  if (conv_ours > 0) {
    std::printf("\nResNet-50's 53 convolutions, forward + backward, batch %lld at 160x160:\n", (long long)batch);
    std::printf("  fergen  %.4f s/batch = %.1f img/s\n", conv_ours, batch / conv_ours);
    if (have_peer) {
      std::printf("  PyTorch %.4f s/batch = %.1f img/s\n", conv_theirs, batch / conv_theirs);
      std::printf("  ratio (fergen / PyTorch throughput): %.2f\n", conv_theirs / conv_ours);
    }
  }
  return 0;
}
