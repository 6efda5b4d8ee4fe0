// 01_train_cnn: a complete training loop with fergen, start to finish, in a few seconds on two cores.
//
// The data are drawn on the fly: 24x24 grayscale images of four classes (a horizontal bar, a vertical bar, a
// diagonal stroke, a ring) at random positions, thicknesses and brightness, with sensor noise. A small CNN
// (three conv + batch-norm + ReLU stages, global average pooling, a linear head) learns them with SGD
// (Nesterov momentum, weight decay) under a linear warm-up then cosine learning-rate schedule. The weights are
// saved to an .npz keyed by PyTorch-style names, loaded strictly into a fresh network, and checked to give the
// same predictions.
//
//   01_train_cnn [--epochs N] [--seed S] [--out weights.npz]
#include <fergen/fergen.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

namespace nn = fergen::nn;
namespace optim = fergen::optim;
using B = fergen::cpu<float>;
using tensor = fergen::tensor<B>;

namespace {

constexpr std::int64_t size = 24;
constexpr std::int64_t classes = 4;
const char* const class_names[classes] = {"horizontal", "vertical", "diagonal", "ring"};

struct dataset {
  std::vector<float> pixels;  // N x 1 x size x size, in [0, 1]
  std::vector<std::int64_t> labels;
  std::int64_t count() const { return static_cast<std::int64_t>(labels.size()); }
};

// Draws `count` images, classes in turn, from one seed: the same seed gives the same data.
dataset draw_shapes(std::int64_t count, std::uint64_t seed) {
  fergen::generator gen(seed);
  dataset d;
  d.pixels.resize(static_cast<std::size_t>(count * size * size));
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t label = i % classes;
    d.labels.push_back(label);
    const double cx = 8 + 8 * gen.uniform(), cy = 8 + 8 * gen.uniform();
    const double half_width = 0.6 + 1.0 * gen.uniform(), radius = 4 + 3 * gen.uniform();
    const double brightness = 0.25 + 0.35 * gen.uniform();
    const fergen::random_stream noise = gen.take();
    float* image = d.pixels.data() + i * size * size;
    for (std::int64_t y = 0; y < size; ++y)
      for (std::int64_t x = 0; x < size; ++x) {
        const double dx = static_cast<double>(x) - cx, dy = static_cast<double>(y) - cy;
        double distance = 0;  // from the pixel to the stroke
        switch (label) {
          case 0: distance = std::abs(dy); break;
          case 1: distance = std::abs(dx); break;
          case 2: distance = std::abs(dx - dy) / std::sqrt(2.0); break;
          default: distance = std::abs(std::hypot(dx, dy) - radius); break;
        }
        const double ink = distance < half_width ? brightness : 0.0;
        const double value = ink + 0.35 * noise.normal(static_cast<std::uint64_t>(y * size + x));
        image[y * size + x] = static_cast<float>(std::clamp(value, 0.0, 1.0));
      }
  }
  return d;
}

// The images with the given indices as one [N, 1, size, size] batch.
tensor batch_of(const dataset& d, const std::vector<std::int64_t>& indices, std::vector<std::int64_t>& labels) {
  tensor t = tensor::uninitialized({static_cast<std::int64_t>(indices.size()), 1, size, size});
  labels.clear();
  for (std::size_t k = 0; k < indices.size(); ++k) {
    std::copy_n(d.pixels.data() + indices[k] * size * size, size * size, t.data() + static_cast<std::int64_t>(k) * size * size);
    labels.push_back(d.labels[static_cast<std::size_t>(indices[k])]);
  }
  return t;
}

// conv 3x3 + batch norm + ReLU: the stage the network repeats.
template <fergen::fixed_string Name>
using stage = nn::named<Name, nn::sequential<nn::conv2d<B>, nn::batch_norm2d<B>, nn::relu<B>>>;

template <fergen::fixed_string Name>
stage<Name> make_stage(std::int64_t in, std::int64_t out) {
  return nn::sequential{nn::conv2d<B>(in, out, {.kernel = 3, .padding = 1, .bias = false}), nn::batch_norm2d<B>(out),
                        nn::relu<B>{}};
}

auto make_network() {
  return nn::sequential{make_stage<"stage1">(1, 8),   nn::max_pool2d<B>({.kernel = 2}),
                        make_stage<"stage2">(8, 16),  nn::max_pool2d<B>({.kernel = 2}),
                        make_stage<"stage3">(16, 32), nn::adaptive_avg_pool2d<B>({1, 1}),
                        nn::flatten<B>{},             nn::named<"head", nn::linear<B>>(nn::linear<B>(32, classes))};
}
using network = decltype(make_network());

// Accuracy and per-class recall on a dataset, in evaluation mode (running statistics, nothing recorded).
double evaluate(network& net, const dataset& d, std::vector<std::int64_t>* predictions = nullptr) {
  auto ctx = fergen::context<B>::eval();
  std::vector<std::int64_t> all(static_cast<std::size_t>(d.count())), labels;
  std::iota(all.begin(), all.end(), 0);
  const tensor logits = net.forward(ctx, batch_of(d, all, labels));
  std::int64_t correct = 0;
  if (predictions) predictions->clear();
  for (std::int64_t n = 0; n < d.count(); ++n) {
    const float* row = logits.data() + n * classes;
    const auto guess = static_cast<std::int64_t>(std::max_element(row, row + classes) - row);
    correct += guess == labels[static_cast<std::size_t>(n)];
    if (predictions) predictions->push_back(guess);
  }
  return static_cast<double>(correct) / static_cast<double>(d.count());
}

}  // namespace

int main(int argc, char** argv) {
  int epochs = 6;
  std::uint64_t seed = 1;
  std::string out = "01_train_cnn.npz";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--epochs") epochs = std::stoi(argv[i + 1]);
    else if (flag == "--seed") seed = std::stoull(argv[i + 1]);
    else if (flag == "--out") out = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: %s [--epochs N] [--seed S] [--out weights.npz]\n", argv[0]);
      return 2;
    }
  }

  const dataset train = draw_shapes(1600, seed), test = draw_shapes(400, seed + 1000);
  network net = make_network();
  nn::initialize(net, seed);
  std::printf("fergen %s: training a %lld-parameter CNN on %lld drawn images (%lld classes), testing on %lld\n",
              FERGEN_VERSION_STRING, static_cast<long long>(nn::parameter_count(net)),
              static_cast<long long>(train.count()), static_cast<long long>(classes),
              static_cast<long long>(test.count()));
  std::printf("learnable layers:");
  for (const auto& layer : nn::learnable_layers(net)) std::printf(" %s", layer.name.c_str());
  std::printf("\n\n");

  constexpr std::int64_t batch = 32;
  const std::int64_t steps_per_epoch = train.count() / batch;
  const double base_lr = 0.05;
  const optim::linear_warmup<optim::cosine_lr> schedule{.warmup_steps = steps_per_epoch / 2,
                                                        .inner = {.total_steps = epochs * steps_per_epoch}};
  optim::sgd<B> sgd({.lr = base_lr, .momentum = 0.9, .weight_decay = 5e-4, .nesterov = true});
  auto ctx = fergen::context<B>::train(seed);
  fergen::generator shuffler(seed + 1);
  std::vector<std::int64_t> order(static_cast<std::size_t>(train.count())), indices, labels;
  std::iota(order.begin(), order.end(), 0);

  std::printf("%5s %10s %9s %9s %9s %10s\n", "epoch", "loss", "train", "test", "lr", "images/s");
  std::int64_t step = 0;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), shuffler);
    const auto start = std::chrono::steady_clock::now();
    double loss_sum = 0;
    std::int64_t correct = 0, seen = 0;
    for (std::int64_t b = 0; b < steps_per_epoch; ++b, ++step) {
      indices.assign(order.begin() + b * batch, order.begin() + (b + 1) * batch);
      const tensor images = batch_of(train, indices, labels);
      const tensor logits = net.forward(ctx, images);
      const auto loss = nn::cross_entropy(ctx, logits, labels);
      nn::zero_grad(net);
      net.backward(ctx, loss.gradient);
      sgd.set_lr(schedule(step, base_lr));
      sgd.step(ctx, net);
      loss_sum += loss.value;
      for (std::int64_t n = 0; n < batch; ++n) {
        const float* row = logits.data() + n * classes;
        correct += (std::max_element(row, row + classes) - row) == labels[static_cast<std::size_t>(n)];
      }
      seen += batch;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%5d %10.4f %8.1f%% %8.1f%% %9.4f %10.0f\n", epoch, loss_sum / static_cast<double>(steps_per_epoch),
                100.0 * static_cast<double>(correct) / static_cast<double>(seen), 100.0 * evaluate(net, test), sgd.lr(),
                static_cast<double>(seen) / seconds);
  }

  std::vector<std::int64_t> predictions;
  const double accuracy = evaluate(net, test, &predictions);
  std::printf("\ntest accuracy %.1f%%; per class:", 100.0 * accuracy);
  for (std::int64_t c = 0; c < classes; ++c) {
    std::int64_t hits = 0, total = 0;
    for (std::int64_t n = 0; n < test.count(); ++n)
      if (test.labels[static_cast<std::size_t>(n)] == c) {
        ++total;
        hits += predictions[static_cast<std::size_t>(n)] == c;
      }
    std::printf(" %s %.0f%%", class_names[c], 100.0 * static_cast<double>(hits) / static_cast<double>(total));
  }
  std::printf("\n");

  // Save, then load strictly into a fresh network: every name must match, and predictions must not change.
  nn::save_weights(net, out);
  network reloaded = make_network();
  const nn::load_report report = nn::load_weights(reloaded, out);
  std::vector<std::int64_t> reloaded_predictions;
  const double reloaded_accuracy = evaluate(reloaded, test, &reloaded_predictions);
  std::printf("saved %s (%s); reloaded network: test accuracy %.1f%%, %s predictions\n", out.c_str(),
              report.summary().c_str(), 100.0 * reloaded_accuracy,
              reloaded_predictions == predictions ? "identical" : "DIFFERENT");
  return reloaded_predictions == predictions ? 0 : 1;
}
