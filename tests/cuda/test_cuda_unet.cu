// CUDA tests: the diffusion UNet (the demo and the study presets) built for cuda<float> and cpu<float> from the
// same seed: outputs in evaluation and training mode, diffusion training steps (diffusion::trainer: AdamW,
// clipping, EMA, label dropout), and sampling (DDIM and DDPM through diffusion::sample, diffusion::generate),
// within max |diff| <= 1e-3 x max |CPU's|.
#include "network_checks.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using namespace fergen;
using namespace fergen::testing;

namespace {

constexpr std::int64_t classes = 7;

// DDPM starts the last convolution of each block at zero, so an initialised UNet predicts 0 whatever its
// input: every all-zero parameter gets small values, the same on both networks, so that outputs mean something.
template <class Net>
void wake_zero_parameters(Net& net) {
  std::uint64_t k = 0;
  nn::for_each_parameter(net, [&](std::string_view, auto& p) {
    ++k;
    const host_tensor v = to_backend<host>(p.value);
    if (std::any_of(v.data(), v.data() + v.size(), [](float x) { return x != 0.0f; })) return;
    const host_tensor r = random_host(v.shape(), 1000 + k, -0.05f, 0.05f);
    p.value.copy_from(r.values());
  });
}

struct unet_inputs {
  host_tensor x;
  std::vector<double> t;
  std::vector<std::int64_t> labels;
};

unet_inputs inputs_for(const models::unet_config& c, std::int64_t n, std::uint64_t seed) {
  unet_inputs in{random_host({n, c.image_channels, c.image_size, c.image_size}, seed), {}, {}};
  for (std::int64_t i = 0; i < n; ++i) {
    in.t.push_back(static_cast<double>((static_cast<std::uint64_t>(i) * 397 + seed * 31) % 1000));
    in.labels.push_back(i % (c.classes + 1));  // the null label (classes) included
  }
  return in;
}

void check_unet(const std::string& name, const models::unet_config& config, std::int64_t batch, int train_steps) {
  const auto start = std::chrono::steady_clock::now();
  CAPTURE(name);
  models::unet<host> host_net(config);
  models::unet<device> device_net(config);
  nn::initialize(host_net, 3);
  nn::initialize(device_net, 3);
  wake_zero_parameters(host_net);
  wake_zero_parameters(device_net);
  check_same_state(host_net, device_net, (name + ", initialised").c_str(), 0.0);

  const unet_inputs in = inputs_for(config, batch, 1);
  const device_tensor dx = to_device(in.x);
  {
    auto he = context<host>::eval();
    auto de = context<device>::eval();
    FERGEN_CHECK_NETWORK_CLOSE(device_net.forward(de, dx, in.t, in.labels),
                               host_net.forward(he, in.x, in.t, in.labels), name + " eval output");
    // Training mode: dropout draws the same masks from the same context seed on both backends.
    auto ht = context<host>::train(9);
    auto dt = context<device>::train(9);
    const host_tensor y = host_net.forward(ht, in.x, in.t, in.labels);
    FERGEN_CHECK_NETWORK_CLOSE(device_net.forward(dt, dx, in.t, in.labels), y, name + " train output");
    const host_tensor dy = random_host(y.shape(), 2);
    nn::zero_grad(host_net);
    nn::zero_grad(device_net);
    FERGEN_CHECK_NETWORK_CLOSE(device_net.backward(dt, to_device(dy)), host_net.backward(ht, dy),
                               name + " input gradient");
    std::vector<host_tensor> grads;
    nn::for_each_parameter(host_net, [&](std::string_view, auto& p) { grads.push_back(p.grad); });
    std::size_t i = 0;
    double worst = 0;
    nn::for_each_parameter(device_net, [&](std::string_view, auto& p) {
      worst = std::max(worst, relative_difference(p.grad, grads[i++]));
    });
    MESSAGE(name << " parameter gradients: worst max |diff| / max |CPU| = " << worst);
    CHECK(worst <= network_tolerance);
  }

  // Diffusion training: the trainer draws timesteps, label dropout, noise (the same streams: the same noise on
  // both backends) and dropout seeds from its own generator, so the two runs see the same batches.
  const diffusion::diffusion_config process{};
  const diffusion::trainer_options o{.batch = batch, .steps = train_steps, .lr = 1e-3, .warmup_steps = 0, .seed = 5};
  std::vector<std::string> names;
  for (std::int64_t k = 0; k < config.classes; ++k) names.push_back("class" + std::to_string(k));
  diffusion::trainer host_trainer(host_net, process, o, names);
  diffusion::trainer device_trainer(device_net, process, o, names);
  for (int step = 0; step < train_steps; ++step) {
    const unet_inputs b = inputs_for(config, batch, 10 + static_cast<std::uint64_t>(step));
    std::vector<std::int64_t> labels = b.labels;
    for (auto& l : labels) l %= config.classes;  // real labels; the trainer drops some to the null label
    const double hl = host_trainer.step(b.x, labels);
    const double dl = device_trainer.step(to_device(b.x), labels);
    MESSAGE(name << " training step " << step << ": loss " << hl << " (CPU), " << dl << " (GPU)");
    CHECK(std::abs(dl - hl) <= network_tolerance * std::abs(hl));
  }
  check_same_state(host_net, device_net, (name + ", trained").c_str(), network_tolerance);

  // Sampling from the trained networks: deterministic DDIM, DDPM with its noise from each image's stream, and
  // DPM-Solver++(2M), which keeps its previous x0 prediction on the device between steps.
  const diffusion::noise_schedule& schedule = host_trainer.schedule();
  std::vector<random_stream> streams;
  for (std::int64_t i = 0; i < batch; ++i) streams.push_back(diffusion::image_stream(17, in.labels[static_cast<std::size_t>(i)] % config.classes, i));
  std::vector<std::int64_t> labels = in.labels;
  for (auto& l : labels) l %= config.classes;
  const shape image{1, config.image_channels, config.image_size, config.image_size};
  for (const auto kind : {diffusion::sampler_kind::ddim, diffusion::sampler_kind::ddpm, diffusion::sampler_kind::dpmpp2m}) {
    diffusion::sampler_options so{.kind = kind, .steps = 10};
    so.guidance.scale = 2.0;  // a conditional and an unconditional pass per step
    FERGEN_CHECK_NETWORK_CLOSE(
        diffusion::sample(device_net, schedule, process.prediction, so, image, labels, streams),
        diffusion::sample(host_net, schedule, process.prediction, so, image, labels, streams),
        name + " samples, " + so.describe());
  }

  // diffusion::generate: the same images, 8-bit levels, from the two backends (a level may differ where a value
  // falls within float rounding of a rounding boundary).
  diffusion::generation_options go{.sampler = {.steps = 5}, .seed = 3, .batch = 4};
  const std::vector<std::int64_t> counts(static_cast<std::size_t>(config.classes), 1);
  const data::dataset hs = diffusion::generate(host_net, schedule, process.prediction, names, counts, image, go);
  const data::dataset ds = diffusion::generate(device_net, schedule, process.prediction, names, counts, image, go);
  REQUIRE(hs.size() == ds.size());
  float worst_level = 0;
  for (std::int64_t i = 0; i < hs.size(); ++i) {
    CHECK(hs[i].source == ds[i].source);
    for (std::size_t p = 0; p < hs[i].image.pixels.size(); ++p)
      worst_level = std::max(worst_level, std::abs(hs[i].image.pixels[p] - ds[i].image.pixels[p]));
  }
  MESSAGE(name << " generated images: largest difference " << worst_level << " levels of 255");
  CHECK(worst_level <= 1.0f);
  MESSAGE(name << ": " << seconds_since(start) << " s");
}

}  // namespace

TEST_CASE("cuda networks: the UNet's demo preset (32x32, no attention) trains and samples as on the CPU") {
  check_unet("unet demo", models::unet_presets::demo(classes), 16, 3);
}

TEST_CASE("cuda networks: the UNet's study preset (48x48, attention at 12x12 and in the middle) as on the CPU") {
  check_unet("unet study", models::unet_presets::study(classes), 8, 3);
}
