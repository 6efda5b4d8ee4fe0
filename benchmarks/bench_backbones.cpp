// bench_backbones: a training step (forward, cross-entropy, backward, SGD with momentum) and inference of
// VGG-16, ResNet-50 and Inception-V3, 7 classes, against the same networks on PyTorch (Debian's python3-torch and
// python3-torchvision) measured in the same run with the same number of threads. Prints throughput and the six
// ratios (fergen / PyTorch: above 1 is faster). --size full (default): torchvision's networks at batch 8,
// 3x160x160; --size small: the small presets as `fergen demo` trains them (batch 16, gray 48x48, Inception-V3
// 107x107), against torchvision-class twins with the same widths (torch_backbones.py).
//
//   bench_backbones [--threads N] [--seconds S] [--size full|small] [--only vgg16|resnet50|inception_v3]
//                   [--kernels automatic|onednn|onednn_gemm|reference] [--contend] [--python /usr/bin/python3]
#include <fergen/models/backbones.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/losses.hpp>
#include <fergen/nn/parameters.hpp>
#include <fergen/optim/sgd.hpp>

#include <omp.h>

#include "bench_support.hpp"
#include "cpu_bench.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace {

using B = fergen::cpu<float>;
constexpr std::int64_t classes = 7;

// The input a network is timed on.
struct input_geometry {
  std::int64_t batch, channels, size;
};

input_geometry geometry_of(fergen::models::backbone b, fergen::models::backbone_size s) {
  if (s == fergen::models::backbone_size::full) return {8, 3, 160};
  return {16, 1, b == fergen::models::backbone::inception_v3 ? 107 : 48};
}

struct options {
  int threads = 2;
  double seconds = 3.0;
  std::string only;
  std::string size = "full";
  std::string kernels = "automatic";
  bool contend = false;
  std::string python = "/usr/bin/python3";
  std::string script = FERGEN_BENCHMARK_DIR "/torch_backbones.py";
};

struct result {
  double train = 0, infer = 0;  // seconds per batch
};

// The same work as the PyTorch script: torchvision's initialisation rules, inputs normal, labels 0..6.
template <class Net>
result measure(Net& net, const input_geometry& g, double seconds) {
  const std::int64_t batch = g.batch;
  fergen::nn::initialize(net, 1);
  net.set_input_gradient(false);  // as PyTorch: an input that does not require grad gets none
  fergen::tensor<B> x = fergen::tensor<B>::uninitialized({batch, g.channels, g.size, g.size});
  const fergen::random_stream s = fergen::generator(2).take();
  for (std::int64_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(s.normal(static_cast<std::uint64_t>(i)));
  std::vector<std::int64_t> labels(batch);
  for (std::int64_t i = 0; i < batch; ++i) labels[static_cast<std::size_t>(i)] = i % classes;
  fergen::optim::sgd<B> opt({.lr = 1e-3, .momentum = 0.9});
  result r;
  // One warm-up call, not the default two: the figures in README.md were measured so.
  r.train = fergen::bench::median_seconds([&] {
    auto ctx = fergen::context<B>::train(3);
    fergen::nn::zero_grad(net);
    const auto loss = fergen::nn::cross_entropy(ctx, net.forward(ctx, x), labels);
    net.backward(ctx, loss.gradient);
    opt.step(ctx, net);
  }, seconds, 1);
  r.infer = fergen::bench::median_seconds([&] {
    auto ctx = fergen::context<B>::eval();
    net.forward(ctx, x);
  }, seconds, 1);
  return r;
}

std::vector<double> run_torch(const options& o, const std::vector<std::string>& models) {
  std::string command = o.python + " " + o.script + " " + std::to_string(o.threads) + " " + std::to_string(o.seconds) +
                        " " + o.size;
  for (const auto& m : models) command += " " + m;
  return fergen::bench::peer_numbers(command);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  fergen::bench::command_line args("bench_backbones");
  args.option("--threads", o.threads, "N")
      .option("--seconds", o.seconds, "S")
      .option("--size", o.size, "full|small")
      .option("--only", o.only, "vgg16|resnet50|inception_v3")
      .option("--kernels", o.kernels, "automatic|onednn|onednn_gemm|reference")
      .flag("--contend", o.contend)
      .option("--python", o.python, "PATH");
  if (!args.parse(argc, argv) || !fergen::bench::set_kernels(o.kernels)) return 2;
  const fergen::bench::competing_process competitor(o.contend);
  omp_set_num_threads(o.threads);
  if (o.size != "full" && o.size != "small") {
    std::fprintf(stderr, "bench_backbones: unknown --size '%s' (full, small)\n", o.size.c_str());
    return 2;
  }
  const fergen::models::backbone_size size = fergen::models::parse_backbone_size(o.size);
  std::printf("bench_backbones: %d threads, ~%.1f s per measurement, %s size, %lld classes; PyTorch peer: %s\n",
              o.threads, o.seconds, o.size.c_str(), static_cast<long long>(classes), o.python.c_str());
  if (competitor.running()) std::printf("with a competing CPU-bound process (--contend)\n");
  fergen::bench::print_machine(o.threads);

  // Each network is measured in fergen, then at once in PyTorch: on a shared machine the two sides of a ratio
  // then see the same load.
  std::vector<std::string> names;
  std::vector<input_geometry> inputs;
  std::vector<result> ours;
  std::vector<double> theirs;
  bool have_peer = true;
  for (const auto b : fergen::models::all_backbones) {
    const std::string name(fergen::models::to_string(b));
    if (!o.only.empty() && o.only != name) continue;
    names.push_back(name);
    const input_geometry g = geometry_of(b, size);
    inputs.push_back(g);
    ours.push_back(fergen::models::with_backbone<B>(b, size,
                                                    {.num_classes = classes, .in_channels = g.channels, .transform_input = false},
                                                    [&](auto& net) { return measure(net, g, o.seconds); }));
    const std::vector<double> peer = run_torch(o, {name});
    have_peer = have_peer && peer.size() == 2;
    theirs.insert(theirs.end(), peer.begin(), peer.end());
    std::fprintf(stderr, "  %s: fergen train %.3f s/batch, inference %.3f s/batch; PyTorch %.3f, %.3f\n", name.c_str(),
                 ours.back().train, ours.back().infer, peer.size() == 2 ? peer[0] : 0.0,
                 peer.size() == 2 ? peer[1] : 0.0);
  }
  if (!have_peer) std::printf("(PyTorch peer unavailable: ratios omitted; install python3-torch and python3-torchvision)\n");

  std::printf("\n%-38s %14s %14s %8s\n", "network, batch x input", "fergen", "PyTorch", "ratio");
  for (std::size_t i = 0; i < names.size(); ++i) {
    const input_geometry& g = inputs[i];
    const auto batch = static_cast<double>(g.batch);
    for (int kind = 0; kind < 2; ++kind) {
      const double mine = kind == 0 ? ours[i].train : ours[i].infer;
      const double peer = have_peer ? theirs[2 * i + static_cast<std::size_t>(kind)] : 0;
      const std::string label = names[i] + (size == fergen::models::backbone_size::small ? "_small " : " ") +
                                (kind == 0 ? "train" : "infer") + ", " + std::to_string(g.batch) + "x" +
                                std::to_string(g.channels) + "x" + std::to_string(g.size) + "x" + std::to_string(g.size);
      std::printf("%-38s %8.1f img/s %8.1f img/s %8.2f\n", label.c_str(), batch / mine, have_peer ? batch / peer : 0.0,
                  have_peer ? peer / mine : 0.0);
    }
  }
  return 0;
}
