// bench_backbones: a training step (forward, cross-entropy, backward, SGD with momentum) and inference of
// VGG-16, ResNet-50 and Inception-V3, 7 classes, against the same networks on PyTorch (Debian's python3-torch and
// python3-torchvision) with the same number of threads, in rounds alternating with it (bench_support.hpp's
// paired_rounds). Prints throughput and the six ratios (fergen / PyTorch: above 1 is faster) with each round's;
// --csv FILE writes the rows. --size full (default): torchvision's networks at batch 8, 3x160x160; --size small:
// the small presets as `fergen demo` trains them (batch 16, gray 48x48, Inception-V3 107x107), against
// torchvision-class twins with the same widths (torch_backbones.py).
//
//   bench_backbones [--threads N] [--seconds S] [--rounds R] [--size full|small] [--only vgg16|resnet50|inception_v3]
//                   [--kernels automatic|onednn|onednn_gemm|reference] [--contend] [--csv FILE]
//                   [--python /usr/bin/python3]
#include <fergen/models/backbones.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/losses.hpp>
#include <fergen/nn/parameters.hpp>
#include <fergen/optim/sgd.hpp>

#include <omp.h>

#include "bench_support.hpp"
#include "cpu_bench.hpp"

#include <cstdio>
#include <optional>
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
  int rounds = 3;
  double seconds = 4.5;  // per row and side, over all rounds
  std::string only;
  std::string size = "full";
  std::string kernels = "automatic";
  bool contend = false;
  std::string csv;
  std::string python = "/usr/bin/python3";
  std::string script = FERGEN_BENCHMARK_DIR "/torch_backbones.py";
};

struct result {
  fergen::bench::paired_row train, infer;
};

// The same work as the PyTorch script: torchvision's initialisation rules, inputs normal, labels 0..6; each call
// measured in rounds alternating with the peer's.
template <class Net>
result measure(Net& net, const std::string& name, const input_geometry& g, const options& o,
               fergen::bench::peer_session& peer) {
  const std::int64_t batch = g.batch;
  fergen::nn::initialize(net, 1);
  net.set_input_gradient(false);  // as PyTorch: an input that does not require grad gets none
  fergen::tensor<B> x = fergen::tensor<B>::uninitialized({batch, g.channels, g.size, g.size});
  const fergen::random_stream s = fergen::generator(2).take();
  for (std::int64_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(s.normal(static_cast<std::uint64_t>(i)));
  std::vector<std::int64_t> labels(batch);
  for (std::int64_t i = 0; i < batch; ++i) labels[static_cast<std::size_t>(i)] = i % classes;
  fergen::optim::sgd<B> opt({.lr = 1e-3, .momentum = 0.9});
  const auto train_step = [&] {
    auto ctx = fergen::context<B>::train(3);
    fergen::nn::zero_grad(net);
    const auto loss = fergen::nn::cross_entropy(ctx, net.forward(ctx, x), labels);
    net.backward(ctx, loss.gradient);
    opt.step(ctx, net);
  };
  const auto inference = [&] {
    auto ctx = fergen::context<B>::eval();
    net.forward(ctx, x);
  };
  // One warm-up call, not the default two: as the peer.
  result r;
  r.train = fergen::bench::paired_rounds(train_step, 1, peer, name + " train", o.seconds, o.rounds);
  r.infer = fergen::bench::paired_rounds(inference, 1, peer, name + " infer", o.seconds, o.rounds);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  fergen::bench::command_line args("bench_backbones");
  args.option("--threads", o.threads, "N")
      .option("--seconds", o.seconds, "S")
      .option("--rounds", o.rounds, "R")
      .option("--size", o.size, "full|small")
      .option("--only", o.only, "vgg16|resnet50|inception_v3")
      .option("--kernels", o.kernels, "automatic|onednn|onednn_gemm|reference")
      .flag("--contend", o.contend)
      .option("--csv", o.csv, "FILE")
      .option("--python", o.python, "PATH");
  if (!args.parse(argc, argv) || !fergen::bench::set_kernels(o.kernels)) return 2;
  if (o.rounds < 1 || o.seconds <= 0) {
    std::fprintf(stderr, "bench_backbones: --rounds must be at least 1 and --seconds positive\n");
    return 2;
  }
  const fergen::bench::competing_process competitor(o.contend);
  omp_set_num_threads(o.threads);
  if (o.size != "full" && o.size != "small") {
    std::fprintf(stderr, "bench_backbones: unknown --size '%s' (full, small)\n", o.size.c_str());
    return 2;
  }
  const fergen::models::backbone_size size = fergen::models::parse_backbone_size(o.size);
  std::printf("bench_backbones: %d threads, ~%.1f s per row and side in %d rounds, %s size, %lld classes; "
              "PyTorch peer: %s\n",
              o.threads, o.seconds, o.rounds, o.size.c_str(), static_cast<long long>(classes), o.python.c_str());
  if (competitor.running()) std::printf("with a competing CPU-bound process (--contend)\n");
  fergen::bench::print_machine(o.threads);
  fergen::bench::paired_csv csv(o.csv, "bench_backbones " + o.size, o.threads, competitor.running());
  if (!csv.ok()) return 2;

  std::vector<std::string> names;
  std::vector<input_geometry> inputs;
  std::vector<result> results;
  bool peer_failed = false;
  for (const auto b : fergen::models::all_backbones) {
    const std::string name(fergen::models::to_string(b));
    if (!o.only.empty() && o.only != name) continue;
    names.push_back(name);
    const input_geometry g = geometry_of(b, size);
    inputs.push_back(g);
    // A peer per network, as fergen's side builds each in turn: a process that had run another network first
    // starts this one warmed (Inception-V3's first training round: 0.49 s per batch in a fresh peer, 0.43 s after
    // VGG-16), and --only would then change the figures.
    fergen::bench::peer_session peer(o.python + " " + o.script + " " + std::to_string(o.threads) + " " + o.size);
    const std::optional<double> peer_params = peer.ask(name + " params");  // waits until the peer is ready
    results.push_back(fergen::models::with_backbone<B>(
        b, size, {.num_classes = classes, .in_channels = g.channels, .transform_input = false},
        [&](auto& net) { return measure(net, name, g, o, peer); }));
    const result& r = results.back();
    std::fprintf(stderr, "  %s (PyTorch's: %.0f parameters): fergen train %.3f s/batch, inference %.3f s/batch; "
                 "PyTorch %.3f, %.3f\n",
                 name.c_str(), peer_params.value_or(0.0), r.train.ours, r.infer.ours, r.train.theirs.value_or(0.0),
                 r.infer.theirs.value_or(0.0));
    peer_failed = peer_failed || !peer.alive();
  }
  if (peer_failed)
    std::printf("(PyTorch peer unavailable or failed: its rows say so; install python3-torch and "
                "python3-torchvision)\n");

  std::printf("\n%-38s %14s %14s %8s\n", "network, batch x input", "fergen", "PyTorch", "ratio");
  for (std::size_t i = 0; i < names.size(); ++i) {
    const input_geometry& g = inputs[i];
    const auto batch = static_cast<double>(g.batch);
    for (const bool training : {true, false}) {
      const fergen::bench::paired_row& row = training ? results[i].train : results[i].infer;
      const std::string label = names[i] + (size == fergen::models::backbone_size::small ? "_small " : " ") +
                                (training ? "train" : "infer") + ", " + std::to_string(g.batch) + "x" +
                                std::to_string(g.channels) + "x" + std::to_string(g.size) + "x" +
                                std::to_string(g.size);
      if (row.ratio) {
        std::printf("%-38s %8.1f img/s %8.1f img/s %8.2f%s\n", label.c_str(), batch / row.ours, batch / *row.theirs,
                    *row.ratio, fergen::bench::round_ratios_text(row).c_str());
      } else {
        std::printf("%-38s %8.1f img/s %14s %8s\n", label.c_str(), batch / row.ours, "(failed)", "-");
      }
      csv.add(names[i] + (training ? " train" : " infer"), g.batch, row);
    }
  }
  return 0;
}
