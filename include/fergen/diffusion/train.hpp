// fergen/diffusion/train.hpp: training a diffusion model on a dataset: batches, the progress line,
// periodic checkpoints and per-class sample grids.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/rng.hpp>
#include <fergen/data/clip_motion.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/image_io.hpp>
#include <fergen/diffusion/image_tensors.hpp>
#include <fergen/diffusion/sampler.hpp>
#include <fergen/diffusion/trainer.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

// The order in which training visits a dataset: epoch e is a shuffle drawn from (seed, e), and batch k takes
// positions [k B, (k + 1) B) of the epochs laid end to end. A pure function of (seed, position), so resuming
// at step k needs only k; a left-right flip (when on) is drawn per position the same way.
class epoch_sampler {
 public:
  epoch_sampler(std::int64_t size, std::uint64_t seed, bool flips) : size_(size), seed_(seed), flips_(flips) {
    require(size >= 1, "epoch_sampler: the dataset is empty");
  }

  struct draw {
    std::int64_t index;
    bool flip;
  };

  draw at(std::int64_t position) {
    const std::int64_t epoch = position / size_, offset = position % size_;
    if (epoch != epoch_) {
      order_.resize(static_cast<std::size_t>(size_));
      std::iota(order_.begin(), order_.end(), std::int64_t{0});
      // The epoch's shuffle seed: two words of a stream that no other draw of the run uses.
      const random_stream keyed{seed_, (std::uint64_t{1} << 62) + static_cast<std::uint64_t>(epoch)};
      generator g((std::uint64_t{keyed.bits(0)} << 32) | keyed.bits(1));
      std::shuffle(order_.begin(), order_.end(), g);
      epoch_ = epoch;
    }
    const bool flip = flips_ && random_stream{seed_, (std::uint64_t{1} << 62) + (std::uint64_t{1} << 40) +
                                                         static_cast<std::uint64_t>(epoch)}
                                        .uniform(static_cast<std::uint64_t>(offset)) < 0.5f;
    return {order_[static_cast<std::size_t>(offset)], flip};
  }

 private:
  std::int64_t size_;
  std::uint64_t seed_;
  bool flips_;
  std::int64_t epoch_ = -1;
  std::vector<std::int64_t> order_;
};

struct train_options {
  std::filesystem::path out;              // OUT/checkpoint.npz and OUT/samples/step_NNNNNNN.png; empty: none
  std::int64_t log_every = 50;            // progress lines
  std::int64_t checkpoint_every = 1000;   // 0: only at the end
  std::int64_t sample_every = 0;          // per-class grids; 0: only at the end
  std::int64_t samples_per_class = 8;     // columns of the grids
  // DDIM with eta = 1: a young network's noise predictions are off in scale, which the deterministic
  // sampler (eta = 0) accumulates into leftover noise; the stochastic one corrects it at every step.
  sampler_options grid_sampler{.kind = sampler_kind::ddim, .steps = 50, .eta = 1.0};
  std::uint64_t grid_seed = 2026;         // the same noise in every grid, so grids over time compare
  bool hflip = false;                     // random left-right flips of training images
  double max_seconds = 0;                 // stop after this much wall time (0: none); makes the step count
                                          // depend on the machine, so the run is no longer reproducible
};

struct train_progress {
  std::int64_t step = 0, steps = 0;
  double loss = 0;              // mean over the steps since the previous line
  double lr = 0;
  double images_per_second = 0;
  double elapsed = 0, eta = 0;  // seconds
};

struct train_summary {
  std::int64_t steps = 0;       // steps done in this call
  double seconds = 0;
  double images_per_second = 0;
  double last_loss = 0;         // mean loss of the last reported interval
};

inline std::string format_duration(double seconds) {
  const auto s = static_cast<std::int64_t>(std::max(0.0, seconds) + 0.5);
  if (s >= 3600) return str(s / 3600, "h", (s / 60) % 60 < 10 ? "0" : "", (s / 60) % 60, "m");
  return str(s / 60, "m", s % 60 < 10 ? "0" : "", s % 60, "s");
}

// "step   500/6000  loss 0.0523  lr 2.00e-04  87.3 img/s  elapsed 0m58s  ETA 10m31s"
inline std::string progress_line(const train_progress& p) {
  char buffer[192];
  std::snprintf(buffer, sizeof buffer, "step %*lld/%lld  loss %.4f  lr %.2e  %.1f img/s  elapsed %s  ETA %s",
                static_cast<int>(std::to_string(p.steps).size()), static_cast<long long>(p.step),
                static_cast<long long>(p.steps), p.loss, p.lr, p.images_per_second, format_duration(p.elapsed).c_str(),
                format_duration(p.eta).c_str());
  return buffer;
}

inline void print_progress(const train_progress& p) {
  std::printf("%s\n", progress_line(p).c_str());
  std::fflush(stdout);
}

// Samples `per_class` images of every class (one row per class; one row for an unconditional network) from
// the averaged weights, as one grid image.
template <class Model>
data::image class_grid(trainer<Model>& t, std::int64_t per_class, const sampler_options& sampler, std::uint64_t seed,
                       shape image) {
  Model averaged = t.averaged_model();
  const std::int64_t rows = std::max<std::int64_t>(1, averaged.class_count());
  std::vector<std::int64_t> labels;
  std::vector<random_stream> streams;
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t k = 0; k < per_class; ++k) {
      if (averaged.class_count() > 0) labels.push_back(r);
      streams.push_back(random_stream{seed, static_cast<std::uint64_t>(r * per_class + k + 1)});
    }
  const auto x = sample(averaged, t.schedule(), t.process().prediction, sampler, image, labels, streams);
  return image_grid(images_from_batch(x), per_class);
}

// Trains until the trainer has done its options().steps steps (or max_seconds passed), from wherever it
// stands (a resumed trainer continues). Images of the dataset must all have the network's channels and
// one size; labels are the dataset's, and its class names must be the trainer's. The trainer's min_motion
// chooses the frames it learns (data::moving_frames); the batches run through those.
template <class Model>
train_summary train(trainer<Model>& t, const data::dataset& ds, const train_options& o,
                    const std::function<void(const train_progress&)>& progress = print_progress) {
  using B = typename Model::backend;
  require(!ds.empty(), "train: the dataset is empty");
  Model& model = t.model();
  require(model.class_count() == 0 || model.class_count() == ds.class_count(), "train: the network has ",
          model.class_count(), " classes, the dataset ", ds.class_count());
  require(t.class_names().empty() || t.class_names() == ds.class_names(),
          "train: the trainer's class names are not the dataset's (construct the trainer with ds.class_names())");
  const data::image& first = ds[0].image;
  const shape image{1, first.channels, first.height, first.width};
  for (std::int64_t i = 0; i < ds.size(); ++i) {
    const data::image& img = ds[i].image;
    require(img.channels == first.channels && img.height == first.height && img.width == first.width, "train: image ", i,
            " (", ds[i].source.empty() ? std::string("in memory") : ds[i].source, ") is ", img.channels, " x ", img.height,
            " x ", img.width, ", image 0 is ", first.channels, " x ", first.height, " x ", first.width,
            "; resize the dataset to one size");
  }
  model.output_shape(image);
  require(o.log_every >= 1 && o.checkpoint_every >= 0 && o.sample_every >= 0 && o.samples_per_class >= 1,
          "train: log_every, samples_per_class must be >= 1 and checkpoint_every, sample_every >= 0");
  require(std::isfinite(o.max_seconds) && o.max_seconds >= 0, "train: max_seconds = ", o.max_seconds, " must be >= 0");
  o.grid_sampler.timesteps(t.schedule().timesteps());  // a bad grid sampler fails now, not after training

  const std::int64_t batch = t.options().batch, target = t.options().steps;
  const std::vector<std::int64_t> frames = data::moving_frames(ds, t.options().min_motion);
  epoch_sampler order(static_cast<std::int64_t>(frames.size()), t.options().seed, o.hflip);
  const bool conditional = model.class_count() > 0;
  auto save_outputs = [&](bool grid) {
    if (o.out.empty()) return;
    t.save(o.out / checkpoint_file_name);
    if (grid) {
      const std::filesystem::path dir = o.out / "samples";
      std::filesystem::create_directories(dir);
      char name[32];
      std::snprintf(name, sizeof name, "step_%07lld.png", static_cast<long long>(t.steps_done()));
      data::write_png(dir / name, class_grid(t, o.samples_per_class, o.grid_sampler, o.grid_seed, image));
    }
  };

  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  auto last = start;
  const std::int64_t first_step = t.steps_done();
  double loss_sum = 0;
  std::int64_t loss_count = 0, since_log = 0;
  train_summary summary;
  std::vector<const data::image*> images(static_cast<std::size_t>(batch));
  std::unique_ptr<bool[]> flips(new bool[static_cast<std::size_t>(batch)]);
  std::vector<std::int64_t> labels;
  while (t.steps_done() < target) {
    const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
    if (o.max_seconds > 0 && elapsed >= o.max_seconds) break;
    labels.clear();
    for (std::int64_t i = 0; i < batch; ++i) {
      const auto d = order.at(t.steps_done() * batch + i);
      const data::sample& s = ds[frames[static_cast<std::size_t>(d.index)]];
      images[static_cast<std::size_t>(i)] = &s.image;
      flips[static_cast<std::size_t>(i)] = d.flip;
      if (conditional) labels.push_back(s.label);
    }
    const double loss = t.step(batch_from_images<B>(images, std::span<const bool>(flips.get(), images.size())), labels);
    require(std::isfinite(loss), "train: the loss is ", loss, " at step ", t.steps_done(),
            "; lower the learning rate or turn gradient clipping on");
    loss_sum += loss;
    ++loss_count;
    ++since_log;
    const std::int64_t k = t.steps_done();
    if (k % o.log_every == 0 || k == target) {
      const auto now = clock::now();
      const double interval = std::chrono::duration<double>(now - last).count();
      const double total = std::chrono::duration<double>(now - start).count();
      train_progress p;
      p.step = k;
      p.steps = target;
      p.loss = loss_sum / static_cast<double>(loss_count);
      p.lr = t.learning_rate(k - 1);
      p.images_per_second = interval > 0 ? static_cast<double>(since_log * batch) / interval : 0;
      p.elapsed = total;
      const double per_step = total / static_cast<double>(k - first_step);
      p.eta = per_step * static_cast<double>(target - k);
      if (o.max_seconds > 0) p.eta = std::min(p.eta, std::max(0.0, o.max_seconds - total));
      if (progress) progress(p);
      summary.last_loss = p.loss;
      loss_sum = 0;
      loss_count = 0;
      since_log = 0;
      last = now;
    }
    const bool checkpoint = o.checkpoint_every > 0 && k % o.checkpoint_every == 0 && k < target;
    const bool grid = o.sample_every > 0 && k % o.sample_every == 0 && k < target;
    if (checkpoint || grid) save_outputs(grid);
  }
  summary.steps = t.steps_done() - first_step;
  summary.seconds = std::chrono::duration<double>(clock::now() - start).count();
  summary.images_per_second = summary.seconds > 0 ? static_cast<double>(summary.steps * batch) / summary.seconds : 0;
  if (loss_count > 0) summary.last_loss = loss_sum / static_cast<double>(loss_count);
  save_outputs(true);
  return summary;
}

}  // namespace diffusion
FERGEN_END_NAMESPACE
