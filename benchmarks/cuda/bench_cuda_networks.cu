// bench_cuda_networks: whole networks on the GPU against PyTorch on the same GPU in the same run (fp32, no AMP,
// TF32 off on both sides: the trainer and the sampler make their own contexts, which keep fergen's default):
// the figures the study's GPU phase needs.
//
//   ResNet-50 training, 160x160 RGB, batch 64: forward, cross-entropy, backward, SGD with momentum (images/s)
//   UNet training, the study preset at 48x48, batch 256: forward, MSE, backward, AdamW (images/s), and the same
//       as diffusion::trainer::step does it (noise, q_sample, clipping to norm 1, EMA)
//   Generation: 15,464 images of 48x48 (the study's Table 2) by diffusion::generate with the study preset's
//       sampler (DDIM, 50 steps, eta 1), in batches of --gen-batch: wall time, goal under 60 s
//
//   bench_cuda_networks [--seconds S] [--csv FILE] [--python PATH] [--only SUBSTRING] [--images N]
//                       [--gen-batch B]
//
// The PyTorch side (torch_cuda_networks.py) is torchvision's ResNet-50 and the UNet's PyTorch twin
// (tests/reference/unet_torch.py), run after fergen's side in a child process; fergen's memory pool is trimmed
// first so that the two do not compete for device memory. Ratios are fergen / PyTorch throughput: above 1 is
// faster. The networks are untrained (timing does not depend on the weights).
#include <fergen/cuda_networks.hpp>
#include <fergen/experiment/study_counts.hpp>

#include "bench_support.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace fergen;
using B = cuda<float>;
using clock_type = std::chrono::steady_clock;

struct options {
  double seconds = 3.0;
  std::string csv;
  std::string python = "/usr/bin/python3";
  std::string script = FERGEN_BENCHMARK_DIR "/torch_cuda_networks.py";
  std::string only;
  std::int64_t images = 15464;  // the study's Table 2
  std::int64_t gen_batch = 1024;
};

struct workload {
  std::string name;
  std::string spec;   // the line torch_cuda_networks.py reads
  double images;      // images per run
  bool once;          // one timed run after one warm-up batch (generation), else the median of several
  std::function<std::function<void()>()> make;
};

double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

tensor<B> random_device(shape s, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> v(static_cast<std::size_t>(s.size()));
  const random_stream stream{seed, 1};
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = lo + (hi - lo) * stream.uniform(i);
  return tensor<B>::from(v, s);
}

constexpr std::int64_t classes = 7;

workload resnet50_training() {
  constexpr std::int64_t batch = 64, size = 160;
  return {"ResNet-50 training, 160x160 RGB, batch 64 (SGD momentum)", "resnet50_train 64 160 7", batch, false, [] {
            struct state {
              models::resnet50<B> net{classes, 3};
              optim::sgd<B> sgd{{.lr = 0.01, .momentum = 0.9, .weight_decay = 1e-4}};
              tensor<B> x = random_device({batch, 3, size, size}, 1, 0.0f, 1.0f);
              std::vector<std::int64_t> labels;
              context<B> ctx = context<B>::train(1);
            };
            auto s = std::make_shared<state>();
            nn::initialize(s->net, 1);
            for (std::int64_t i = 0; i < batch; ++i) s->labels.push_back(i % classes);
            return std::function<void()>([s] {
              const auto logits = s->net.forward(s->ctx, s->x);
              const auto loss = nn::cross_entropy(s->ctx, logits, s->labels);
              nn::zero_grad(s->net);
              s->net.backward(s->ctx, loss.gradient);
              s->sgd.step(s->ctx, s->net);
            });
          }};
}

struct unet_state {
  models::unet<B> net{models::unet_presets::study(classes)};
  tensor<B> x0;
  std::vector<double> t;
  std::vector<std::int64_t> labels;
};

std::shared_ptr<unet_state> make_unet(std::int64_t batch) {
  auto s = std::make_shared<unet_state>();
  nn::initialize(s->net, 1);
  s->x0 = random_device({batch, 1, 48, 48}, 2);
  for (std::int64_t i = 0; i < batch; ++i) {
    s->t.push_back(static_cast<double>((i * 397) % 1000));
    s->labels.push_back(i % classes);
  }
  return s;
}

workload unet_training() {
  constexpr std::int64_t batch = 256;
  return {"UNet training, study preset 48x48, batch 256 (AdamW)", "unet_train 256", batch, false, [] {
            auto s = make_unet(batch);
            auto adamw = std::make_shared<optim::adam<B>>(
                optim::adam_options{.lr = 2e-4, .weight_decay = 0.0, .decoupled_weight_decay = true});
            auto target = std::make_shared<tensor<B>>(random_device({batch, 1, 48, 48}, 3));
            return std::function<void()>([s, adamw, target] {
              auto ctx = context<B>::train(1);
              const auto out = s->net.forward(ctx, s->x0, s->t, s->labels);
              const auto loss = nn::mse(ctx, out, *target);
              nn::zero_grad(s->net);
              s->net.backward(ctx, loss.gradient);
              adamw->step(ctx, s->net);
            });
          }};
}

workload unet_trainer_step() {
  constexpr std::int64_t batch = 256;
  return {"UNet diffusion::trainer step, batch 256 (+noise, clip, EMA)", "unet_trainer_step 256", batch, false, [] {
            auto s = make_unet(batch);
            const diffusion::trainer_options o{.batch = batch, .lr = 2e-4, .warmup_steps = 0, .ema_decay = 0.9999};
            auto trainer = std::make_shared<diffusion::trainer<models::unet<B>>>(s->net, diffusion::diffusion_config{}, o);
            return std::function<void()>([s, trainer] { trainer->step(s->x0, s->labels); });
          }};
}

// The study's per-class counts when `images` is theirs, else `images` spread evenly over the seven classes.
std::vector<std::int64_t> generation_counts(const std::vector<std::string>& names, std::int64_t images) {
  if (images == 15464) return experiment::study_counts_for(names);
  std::vector<std::int64_t> counts(names.size(), images / static_cast<std::int64_t>(names.size()));
  for (std::int64_t k = 0; k < images % static_cast<std::int64_t>(names.size()); ++k) ++counts[static_cast<std::size_t>(k)];
  return counts;
}

workload generation(const options& o) {
  const diffusion::preset p = diffusion::presets::study(classes);
  const std::string spec = "ddim " + std::to_string(o.images) + " " + std::to_string(o.gen_batch) + " " +
                           std::to_string(p.sampler.steps) + " " + std::to_string(p.sampler.eta);
  return {"generation: " + std::to_string(o.images) + " images 48x48, " + p.sampler.describe() + ", batch " +
              std::to_string(o.gen_batch),
          spec, static_cast<double>(o.images), true, [p, o] {
            auto net = std::make_shared<models::unet<B>>(p.model);
            nn::initialize(*net, 1);
            return std::function<void()>([p, o, net] {
              std::vector<std::string> names;
              for (const auto& entry : experiment::study_generated_counts()) names.push_back(entry.first);
              const diffusion::generation_options go{.sampler = p.sampler, .seed = 1, .batch = o.gen_batch};
              const auto images = diffusion::generate(*net, p.process.make_schedule(), p.process.prediction, names,
                                                      generation_counts(names, o.images), {1, 1, 48, 48}, go);
              if (images.size() != o.images) std::fprintf(stderr, "bench_cuda_networks: generated %lld images\n",
                                                          static_cast<long long>(images.size()));
            });
          }};
}

// One warm-up batch (cuDNN's algorithm choice, the pool's first allocations), then the whole job once.
double timed_once(const workload& w, const options& o, context<B>& ctx) {
  {
    const diffusion::preset p = diffusion::presets::study(classes);
    models::unet<B> net(p.model);
    nn::initialize(net, 1);
    std::vector<std::string> names;
    for (const auto& entry : experiment::study_generated_counts()) names.push_back(entry.first);
    std::vector<std::int64_t> counts(names.size(), 0);
    counts[0] = std::min<std::int64_t>(o.gen_batch, o.images);
    diffusion::sampler_options so = p.sampler;
    so.steps = 2;
    (void)diffusion::generate(net, p.process.make_schedule(), p.process.prediction, names, counts, {1, 1, 48, 48},
                              {.sampler = so, .seed = 1, .batch = o.gen_batch});
  }
  const std::function<void()> run = w.make();
  ctx.resources.synchronize();
  const auto t = clock_type::now();
  run();
  ctx.resources.synchronize();
  return seconds_since(t);
}

std::vector<double> run_torch(const options& o, const std::vector<workload>& list) {
  std::string specs;
  for (const auto& w : list) specs += w.spec + '\n';
  const std::string input = bench::temporary_file("fergen-bench-cuda-networks.txt", specs);
  const std::string command = o.python + " " + o.script + " " + std::to_string(o.seconds) + " < " + input;
  std::vector<double> times;
  // The peer's own lines (its device, its network sizes) are shown as they come; "time S" is one workload's.
  const bool ran = bench::run_peer(command, [&](std::string_view line) {
    std::printf("%.*s\n", static_cast<int>(line.size()), line.data());
    if (const auto t = bench::keyed_number(line, "time")) times.push_back(*t);
  });
  if (!ran) times.clear();
  return times;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  bench::command_line args("bench_cuda_networks");
  args.option("--seconds", o.seconds, "S")
      .option("--csv", o.csv, "FILE")
      .option("--python", o.python, "PATH")
      .option("--only", o.only, "SUBSTRING")
      .option("--images", o.images, "N")
      .option("--gen-batch", o.gen_batch, "B");
  if (!args.parse(argc, argv)) return 2;
  if (o.images < 1 || o.gen_batch < 1) {
    std::fprintf(stderr, "bench_cuda_networks: --images and --gen-batch must be at least 1\n");
    return 2;
  }
  if (cuda_device_count() == 0) {
    std::printf("bench_cuda_networks: no CUDA device; nothing to measure\n");
    return 77;
  }
  cudaDeviceProp prop{};
  FERGEN_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("bench_cuda_networks: %s; ~%.1f s per measurement; fp32, TF32 off; PyTorch peer: %s\n", prop.name,
              o.seconds, o.python.c_str());

  auto ctx = context<B>::train(1);
  std::vector<workload> list;
  for (auto& w : {resnet50_training(), unet_training(), unet_trainer_step(), generation(o)})
    if (o.only.empty() || w.name.find(o.only) != std::string::npos) list.push_back(w);

  std::vector<double> ours;
  for (const auto& w : list) {
    std::printf("fergen: %s ...\n", w.name.c_str());
    std::fflush(stdout);
    if (w.once) {
      ours.push_back(timed_once(w, o, ctx));
    } else {
      const std::function<void()> run = w.make();
      // Two warm-up runs, at most 100 timed ones, the GPU synchronised after every run (as torch_cuda_networks.py
      // times it).
      ours.push_back(bench::median_seconds(run, o.seconds, 2, 100, [&ctx] { ctx.resources.synchronize(); }));
    }
    std::printf("  %.4f s per run\n", ours.back());
  }

  // Everything fergen allocated goes back to the device before the peer starts.
  ctx.resources.synchronize();
  if (auto& rt = cuda_detail::current_runtime(); rt.pool) FERGEN_CUDA_CHECK(cudaMemPoolTrimTo(rt.pool, 0));

  const std::vector<double> theirs = run_torch(o, list);
  const bool have_peer = theirs.size() == ours.size();
  if (!have_peer) std::printf("(PyTorch peer unavailable or failed: ratios omitted)\n");

  std::ofstream csv;
  if (!o.csv.empty()) {
    csv.open(o.csv);
    csv << "name,fergen_seconds,pytorch_seconds,fergen_images_per_s,pytorch_images_per_s,ratio\n";
  }
  std::printf("\n%-64s %12s %12s %8s\n", "whole networks (images/s; generation: wall seconds)", "fergen", "PyTorch",
              "ratio");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& w = list[i];
    const double mine = w.images / ours[i];
    const double peer = have_peer ? w.images / theirs[i] : 0.0;
    std::printf("%-64s %8.1f/s %10.1f/s %8.2f\n", w.name.c_str(), mine, peer, have_peer ? mine / peer : 0.0);
    if (w.once) {
      std::printf("%-64s %10.1f s %10.1f s   (goal: under 60 s)\n", "  wall time", ours[i], have_peer ? theirs[i] : 0.0);
      if (w.images != 15464)
        std::printf("%-64s %10.1f s %10.1f s\n", "  scaled to 15,464 images", ours[i] * 15464 / w.images,
                    have_peer ? theirs[i] * 15464 / w.images : 0.0);
    }
    if (csv)
      csv << '"' << w.name << "\"," << ours[i] << ',' << (have_peer ? theirs[i] : 0) << ',' << mine << ',' << peer
          << ',' << (have_peer ? mine / peer : 0) << '\n';
  }
  return 0;
}
