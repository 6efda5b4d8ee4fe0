// bench_unet: the DDPM UNet's training step (forward, MSE, backward, AdamW) and one denoising step (forward
// without recording, then a DDIM update) at 48x48, batch 32, against PyTorch (Debian's python3-torch) on the
// same network (torch_unet.py over tests/reference/unet_torch.py) with the same number of threads, in rounds
// alternating with it (bench_support.hpp's paired_rounds). Prints images per second, the ratio (fergen / PyTorch
// throughput: above 1 is faster) with each round's, and both parameter counts; --csv FILE writes the rows.
//
//   bench_unet [--threads N] [--seconds S] [--rounds R] [--batch B] [--preset benchmark|study|demo|small]
//              [--kernels automatic|onednn|onednn_gemm|reference] [--contend] [--csv FILE] [--python /usr/bin/python3]
#include <fergen/diffusion/ddim.hpp>
#include <fergen/diffusion/noise_schedule.hpp>
#include <fergen/models/unet.hpp>
#include <fergen/models/unet_presets.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/losses.hpp>
#include <fergen/nn/parameters.hpp>
#include <fergen/optim/adam.hpp>

#include <omp.h>

#include "bench_support.hpp"
#include "cpu_bench.hpp"

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using B = fergen::cpu<float>;

// The network of `train-diffusion --size 16 --base-channels 32 --channel-mult 1,2` on a small image folder (16x16,
// 32 and 64 channels, two residual blocks per level, batch 64) without its middle attention, which the PyTorch peer
// lacks: the small networks where a framework's overhead shows.
fergen::models::unet_config small_images(std::int64_t classes) {
  fergen::models::unet_config c;
  c.image_size = 16;
  c.base_channels = 32;
  c.channel_mult = {1, 2};
  c.res_blocks = 2;
  c.groups = 8;
  c.classes = classes;
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, rounds = 5;
  double seconds = 6.0;    // per row and side, over all rounds
  std::int64_t batch = 0;  // 0: the preset's (64 for small, else 32)
  std::string preset = "benchmark", python = "/usr/bin/python3", kernels = "automatic", csv_path;
  bool contend = false;
  fergen::bench::command_line args("bench_unet");
  args.option("--threads", threads, "N")
      .option("--seconds", seconds, "S")
      .option("--rounds", rounds, "R")
      .option("--batch", batch, "B")
      .option("--preset", preset, "benchmark|study|demo|small")
      .option("--kernels", kernels, "automatic|onednn|onednn_gemm|reference")
      .flag("--contend", contend)
      .option("--csv", csv_path, "FILE")
      .option("--python", python, "PATH");
  if (!args.parse(argc, argv) || !fergen::bench::set_kernels(kernels)) return 2;
  if (rounds < 1 || seconds <= 0) {
    std::fprintf(stderr, "bench_unet: --rounds must be at least 1 and --seconds positive\n");
    return 2;
  }
  const fergen::bench::competing_process competitor(contend);
  omp_set_num_threads(threads);
  namespace models = fergen::models;
  const std::map<std::string, models::unet_config> presets{{"benchmark", models::unet_presets::benchmark(7)},
                                                           {"study", models::unet_presets::study(7)},
                                                           {"demo", models::unet_presets::demo(7)},
                                                           {"small", small_images(10)}};
  if (!presets.contains(preset)) {
    std::fprintf(stderr, "bench_unet: unknown preset '%s' (benchmark, study, demo, small)\n", preset.c_str());
    return 2;
  }
  models::unet_config config = presets.at(preset);
  config.dropout = 0;  // PyTorch's twin has dropout too, but the benchmark compares the arithmetic
  if (!config.attention_resolutions.empty() || config.middle_attention)
    std::printf("note: the PyTorch peer has no attention; preset '%s' has it, so its ratio is not like for like\n",
                preset.c_str());
  const std::int64_t size = config.image_size;
  if (batch <= 0) batch = preset == "small" ? 64 : 32;
  std::printf("bench_unet: %d threads, ~%.1f s per row and side in %d rounds, batch %lld at %lldx%lld; "
              "PyTorch peer: %s\n",
              threads, seconds, rounds, static_cast<long long>(batch), static_cast<long long>(size),
              static_cast<long long>(size), python.c_str());
  if (competitor.running()) std::printf("with a competing CPU-bound process (--contend)\n");
  fergen::bench::print_machine(threads);
  std::printf("network: %s\n", config.describe().c_str());

  models::unet<B> net(config);
  fergen::nn::initialize(net, 1);
  const std::int64_t params = fergen::nn::parameter_count(net);
  fergen::random_stream r{1, 1};
  std::vector<float> xv(static_cast<std::size_t>(batch * size * size)), tv(xv.size());
  for (std::size_t i = 0; i < xv.size(); ++i) {
    xv[i] = static_cast<float>(r.normal(i));
    tv[i] = static_cast<float>(r.normal(i + xv.size()));
  }
  const auto x = fergen::tensor<B>::from(xv, {batch, 1, size, size});
  const auto target = fergen::tensor<B>::from(tv, {batch, 1, size, size});
  std::vector<double> t(static_cast<std::size_t>(batch));
  std::vector<std::int64_t> labels(static_cast<std::size_t>(batch));
  for (std::size_t i = 0; i < t.size(); ++i) {
    t[i] = static_cast<double>((i * 37) % 1000);
    labels[i] = static_cast<std::int64_t>(i % 7);
  }
  // The peer: the same network in PyTorch, kept up and asked for one measurement per round.
  std::string mult;
  for (std::size_t i = 0; i < config.channel_mult.size(); ++i) {
    if (i) mult += ",";
    mult += std::to_string(config.channel_mult[i]);
  }
  fergen::bench::peer_session peer(python + " " + FERGEN_BENCHMARK_DIR "/torch_unet.py " + std::to_string(threads) +
                                   " " + std::to_string(batch) + " " + std::to_string(size) + " " +
                                   std::to_string(config.base_channels) + " " + mult + " " +
                                   std::to_string(config.res_blocks) + " " + std::to_string(config.groups) + " " +
                                   std::to_string(config.classes));
  const std::optional<double> peer_params = peer.ask("params");
  fergen::bench::paired_csv csv(csv_path, "bench_unet " + preset, threads, competitor.running());
  if (!csv.ok()) return 2;

  auto opt = fergen::optim::adamw<B>({.lr = 1e-4});
  const auto train_step = [&] {
    auto ctx = fergen::context<B>::train(1);
    const auto out = net.forward(ctx, x, t, labels);
    auto loss = fergen::nn::mse(ctx, out, target);
    fergen::nn::zero_grad(net);
    net.backward(ctx, loss.gradient);
    opt.step(ctx, net);
  };
  const fergen::diffusion::noise_schedule schedule{fergen::diffusion::beta_schedule{}};
  const auto coefficients =
      fergen::diffusion::ddim_sampler{}.step(schedule, 500, 480, fergen::diffusion::prediction_type::epsilon);
  const std::vector<double> t_same(static_cast<std::size_t>(batch), 500.0);
  fergen::tensor<B> xt = x.clone();
  const auto denoise_step = [&] {
    auto ctx = fergen::context<B>::eval();
    const auto out = net.forward(ctx, xt, t_same, labels);
    xt = fergen::ops::diffusion_steps<B>::reverse_step(ctx, xt, out, coefficients, {}, 0);
  };
  const auto train = fergen::bench::paired_rounds(train_step, 2, peer, "train", seconds, rounds);
  const auto denoise = fergen::bench::paired_rounds(denoise_step, 2, peer, "denoise", seconds, rounds);

  const auto images = static_cast<double>(batch);
  std::printf("parameters: fergen %lld, PyTorch %.0f\n\n", static_cast<long long>(params), peer_params.value_or(0.0));
  std::printf("%-34s %12s %12s %8s\n", "", "fergen", "PyTorch", "ratio");
  auto row = [&](const char* what, const char* name, const fergen::bench::paired_row& p) {
    if (p.ratio) {
      std::printf("%-34s %8.1f img/s %6.1f img/s %8.2f%s\n", what, images / p.ours, images / *p.theirs, *p.ratio,
                  fergen::bench::round_ratios_text(p).c_str());
    } else {
      std::printf("%-34s %8.1f img/s %12s %8s\n", what, images / p.ours, "(failed)", "-");
    }
    csv.add(name, batch, p);
  };
  row("training step (fwd+bwd+AdamW)", "train", train);
  row("denoising step (fwd + DDIM)", "denoise", denoise);
  std::printf("\nseconds per batch (median over rounds): fergen train %.3f, denoise %.3f", train.ours, denoise.ours);
  if (train.theirs && denoise.theirs) std::printf("; PyTorch train %.3f, denoise %.3f", *train.theirs, *denoise.theirs);
  std::printf("\n");
  return 0;
}
