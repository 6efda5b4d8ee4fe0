// fergen/data/batch_loader.hpp: an in-memory dataset (or a subset of it) as batches of NCHW tensors,
// resized and augmented by background workers, identical whatever the number of workers.
#pragma once

#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/parallel.hpp>
#include <fergen/core/rng.hpp>
#include <fergen/core/shape.hpp>
#include <fergen/core/tensor.hpp>
#include <fergen/data/augmentation_policy.hpp>
#include <fergen/data/color.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/image.hpp>
#include <fergen/data/resize.hpp>
#include <fergen/data/split.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace data {

namespace detail {

template <class Backend>
inline constexpr bool is_cpu_backend = false;
template <real T>
inline constexpr bool is_cpu_backend<cpu<T>> = true;

// The seed of one random thing of one epoch, a pure function of (seed, epoch, what, position): Philox of
// the position under the user's seed, in a stream per (epoch, what). No state is shared between threads,
// so which worker prepares a sample, and when, cannot change its draws.
enum class loader_draw : std::uint64_t { shuffle = 0, sample = 1 };
inline std::uint64_t loader_seed(std::uint64_t seed, std::int64_t epoch, loader_draw what, std::int64_t position) {
  const philox_block b = random_stream{seed, static_cast<std::uint64_t>(epoch) * 2 + static_cast<std::uint64_t>(what)}
                             .block(static_cast<std::uint64_t>(position));
  return (std::uint64_t{b.v[0]} << 32) | b.v[1];
}

}  // namespace detail

// Per sample, in Keras' order (resize on load, then the random transform):
//   1. channels: options.channels 1 turns RGB into BT.601 gray first (cheaper to resize one plane);
//   2. resize_bilinear (antialiased, torch's) to options.height x options.width, when they differ from the
//      image's size;
//   3. the policy: params drawn by policy.sample from a generator seeded by (seed, epoch, position in the
//      epoch), then policy.apply;
//   4. channels: options.channels 3 replicates a gray image into R, G and B last: for a policy that treats
//      channels alike (every Keras option does) that gives the values of replicating first, for a third of
//      the work. A policy that needs colour sees the image's own channels.
// The values go into the tensor as the policy leaves them: augment::study_policy() rescales by 1/255, so its
// batches are on [0, 1]; with augment::none they stay on the image scale [0, 255].
//
// Workers: `workers` threads prepare whole batches, in order, at most max(prefetch, workers) batches ahead
// of the consumer (waiting or in progress; memory is bounded by that many batches). workers = 0 prepares
// each batch in next() on the calling thread. The dataset must outlive the loader and not change while it
// runs; the policy's const member functions are called from several threads at once.
//
// An exception in a worker (a policy that throws, an image of the wrong size) reaches the caller of next()
// at the batch where it happened, as the same object (a fergen::error stays that error); the epoch then
// stops, and next() throws it again until start_epoch.
template <class Backend, augmentation_policy Policy = no_augmentation>
class batch_loader {
 public:
  using value_type = typename Backend::value_type;

  struct options {
    std::int64_t batch_size = 32;
    std::int64_t height = 0, width = 0;  // 0: keep the dataset's size (all images must share it); 160 for the backbones
    std::int64_t channels = 0;           // 0: keep (all images must share it); 1 (gray) or 3 (gray replicated)
    bool shuffle = true;                 // order of each epoch: the indices shuffled by (seed, epoch)
    bool drop_last = false;              // drop the last, partial batch
    std::uint64_t seed = 0;
    std::int64_t workers = 2;   // background threads; 0: prepare batches in next()
    std::int64_t prefetch = 2;  // batches prepared ahead of the consumer (at least one per worker)
  };

  struct batch {
    tensor<Backend> images;              // [n, channels, height, width]
    std::vector<std::int64_t> labels;    // per image
    std::vector<std::int64_t> indices;   // per image: its index in the dataset
  };

  batch_loader(const dataset& ds, std::vector<std::int64_t> indices, Policy p, options o)
      : ds_(ds), indices_(std::move(indices)), policy_(std::move(p)), options_(o) {
    validate_options();
    require(!indices_.empty(), "batch_loader: no samples (the index list is empty)");
    for (const auto i : indices_)
      require(i >= 0 && i < ds_.size(), "batch_loader: index ", i, " is outside the dataset's [0, ", ds_.size(), ")");
    const sample& first = ds_[indices_.front()];
    for (const auto i : indices_) {
      const image& img = ds_[i].image;
      require(img.size() == static_cast<std::int64_t>(img.pixels.size()) && !img.empty(), "batch_loader: sample ", i,
              " has an empty or inconsistent image (", img.channels, " x ", img.height, " x ", img.width, ")");
      if (options_.height == 0)
        require(img.height == first.image.height && img.width == first.image.width, "batch_loader: sample ", i, " is ",
                img.height, " x ", img.width, ", sample ", indices_.front(), " is ", first.image.height, " x ",
                first.image.width, "; with options height = width = 0 (keep) all images must share a size");
      if (options_.channels == 0)
        require(img.channels == first.image.channels, "batch_loader: sample ", i, " has ", img.channels,
                " channels, sample ", indices_.front(), " has ", first.image.channels,
                "; with options channels = 0 (keep) all images must share it");
      else
        require(img.channels == 1 || img.channels == 3, "batch_loader: sample ", i, " has ", img.channels,
                " channels; converting to options channels = ", options_.channels, " needs 1 (gray) or 3 (RGB)");
    }
    height_ = options_.height > 0 ? options_.height : first.image.height;
    width_ = options_.width > 0 ? options_.width : first.image.width;
    channels_ = options_.channels > 0 ? options_.channels : first.image.channels;
    const auto n = static_cast<std::int64_t>(indices_.size());
    batches_ = options_.drop_last ? n / options_.batch_size : (n + options_.batch_size - 1) / options_.batch_size;
    require(batches_ > 0, "batch_loader: drop_last with batch_size ", options_.batch_size, " and ", n,
            " samples leaves no batch");
  }

  // The loader keeps a reference to the dataset: a temporary would be gone before the first batch.
  batch_loader(const dataset&& ds, std::vector<std::int64_t> indices, Policy p, options o) = delete;

  // Workers hold `this`: the loader stays where it was made.
  batch_loader(const batch_loader&) = delete;
  batch_loader& operator=(const batch_loader&) = delete;

  ~batch_loader() { stop(); }

  // Begins epoch `epoch` (>= 0), abandoning what is left of the current one: its workers finish the image in
  // hand, are joined, and their batches are dropped.
  void start_epoch(std::int64_t epoch) {
    require(epoch >= 0 && epoch < (std::int64_t{1} << 62), "batch_loader::start_epoch: epoch ", epoch,
            " is outside [0, 2^62)");
    stop();
    order_ = indices_;
    if (options_.shuffle) {
      generator g(detail::loader_seed(options_.seed, epoch, detail::loader_draw::shuffle, 0));
      detail::shuffle_in_place(order_, g);
    }
    epoch_ = epoch;
    delivered_ = claimed_ = 0;
    ready_.clear();
    failure_ = nullptr;
    stopping_ = false;
    cancel_.store(false);
    const std::int64_t threads = options_.workers;
    try {
      for (std::int64_t t = 0; t < threads; ++t) threads_.emplace_back([this] { work(); });
    } catch (const std::system_error& e) {
      stop();
      epoch_ = -1;
      fail("batch_loader::start_epoch: could not start worker thread (", threads, " requested): ", e.what());
    }
  }

  // The next batch of the epoch, in order; nullopt once the epoch is over.
  std::optional<batch> next() {
    require(epoch_ >= 0, "batch_loader::next: no epoch started; call start_epoch(epoch) first");
    if (failure_) std::rethrow_exception(failure_);
    if (delivered_ >= batches_) {
      stop();  // the workers have run out of batches: join them now rather than at the next epoch
      return std::nullopt;
    }
    if (options_.workers == 0) {
      try {
        std::optional<batch> b = make_batch(delivered_);
        ++delivered_;
        return b;
      } catch (...) {
        failure_ = std::current_exception();
        throw;
      }
    }
    slot s;
    {
      std::unique_lock lock(mutex_);
      ready_cv_.wait(lock, [&] { return ready_.count(delivered_) > 0; });
      auto node = ready_.extract(delivered_);
      s = std::move(node.mapped());
      ++delivered_;
    }
    work_cv_.notify_all();  // a worker waiting for room ahead of the consumer may go on
    if (s.failure) {
      failure_ = s.failure;
      stop();
      std::rethrow_exception(failure_);
    }
    return std::move(s.value);
  }

  std::int64_t batches_per_epoch() const { return batches_; }
  std::int64_t samples() const { return static_cast<std::int64_t>(indices_.size()); }
  // The shape of a full batch.
  fergen::shape batch_shape() const { return {options_.batch_size, channels_, height_, width_}; }
  const options& settings() const { return options_; }
  const Policy& policy() const { return policy_; }

 private:
  struct slot {
    std::optional<batch> value;
    std::exception_ptr failure;
  };

  void validate_options() const {
    const options& o = options_;
    require(o.batch_size >= 1, "batch_loader: options batch_size ", o.batch_size, " must be >= 1");
    require(o.height >= 0 && o.width >= 0 && (o.height == 0) == (o.width == 0), "batch_loader: options height ",
            o.height, " and width ", o.width, " must both be positive, or both 0 to keep the dataset's size");
    require(o.channels == 0 || o.channels == 1 || o.channels == 3, "batch_loader: options channels ", o.channels,
            " must be 0 (keep), 1 (gray) or 3 (RGB)");
    require(o.workers >= 0 && o.workers <= 256, "batch_loader: options workers ", o.workers,
            " must be in [0, 256] (0 prepares batches on the calling thread)");
    require(o.prefetch >= 1, "batch_loader: options prefetch ", o.prefetch, " must be >= 1");
  }

  // Joins the workers; they stop at the next image. Idempotent and noexcept: the destructor calls it.
  void stop() noexcept {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cancel_.store(true);
    work_cv_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    threads_.clear();
  }

  void work() noexcept {
    use_one_thread_here();  // one image at a time per worker
    const std::int64_t window = std::max(options_.prefetch, options_.workers);
    for (;;) {
      std::int64_t b = 0;
      {
        std::unique_lock lock(mutex_);
        work_cv_.wait(lock, [&] { return stopping_ || claimed_ >= batches_ || claimed_ < delivered_ + window; });
        if (stopping_ || claimed_ >= batches_) return;
        b = claimed_++;
      }
      slot s;
      try {
        s.value = make_batch(b);
        if (!s.value) return;  // cancelled by stop(): nobody waits for this batch
      } catch (...) {
        s.failure = std::current_exception();
      }
      {
        std::lock_guard lock(mutex_);
        ready_.emplace(b, std::move(s));
      }
      ready_cv_.notify_all();
    }
  }

  // The image of one sample, prepared as the class comment says. Pure in (sample, epoch, position).
  image prepare(const image& source, std::int64_t position) const {
    image converted;
    const image* img = &source;
    if (channels_ == 1 && img->channels == 3) {
      converted = to_grayscale(*img);
      img = &converted;
    }
    if (img->height != height_ || img->width != width_) {
      converted = resize_bilinear(*img, height_, width_, true);
      img = &converted;
    }
    generator g(detail::loader_seed(options_.seed, epoch_, detail::loader_draw::sample, position));
    const typename Policy::params q = policy_.sample(g, height_, width_);
    image out = policy_.apply(*img, q);
    if (channels_ == 3 && out.channels == 1) out = to_rgb(out);
    return out;
  }

  // Batch b of the epoch; nullopt when stop() cancelled it half-way (only on a worker).
  std::optional<batch> make_batch(std::int64_t b) const {
    const auto n = static_cast<std::int64_t>(order_.size());
    const std::int64_t begin = b * options_.batch_size;
    const std::int64_t count = std::min(options_.batch_size, n - begin);
    const std::int64_t per_image = channels_ * height_ * width_;
    batch out;
    out.labels.reserve(static_cast<std::size_t>(count));
    out.indices.reserve(static_cast<std::size_t>(count));
    const fergen::shape dims{count, channels_, height_, width_};
    std::vector<value_type> staging;  // backends whose memory the host cannot write go through it
    value_type* values = nullptr;
    if constexpr (detail::is_cpu_backend<Backend>) {
      out.images = tensor<Backend>::uninitialized(dims);
      values = out.images.data();
    } else {
      staging.resize(static_cast<std::size_t>(count * per_image));
      values = staging.data();
    }
    for (std::int64_t j = 0; j < count; ++j) {
      if (cancel_.load(std::memory_order_relaxed)) return std::nullopt;
      const std::int64_t position = begin + j;
      const std::int64_t index = order_[static_cast<std::size_t>(position)];
      const sample& s = ds_[index];
      const image img = prepare(s.image, position);
      require(img.channels == channels_ && img.height == height_ && img.width == width_ &&
                  img.size() == static_cast<std::int64_t>(img.pixels.size()),
              "batch_loader: sample ", index, " came out of the policy as ", img.channels, " x ", img.height, " x ",
              img.width, "; the batch needs ", channels_, " x ", height_, " x ", width_);
      value_type* dst = values + j * per_image;
      if constexpr (std::is_same_v<value_type, float>)
        std::copy(img.pixels.begin(), img.pixels.end(), dst);
      else
        std::transform(img.pixels.begin(), img.pixels.end(), dst, [](float v) { return static_cast<value_type>(v); });
      out.labels.push_back(s.label);
      out.indices.push_back(index);
    }
    if constexpr (!detail::is_cpu_backend<Backend>) {
      out.images = tensor<Backend>::uninitialized(dims);
      out.images.copy_from(std::span<const value_type>(staging));
    }
    return out;
  }

  const dataset& ds_;
  std::vector<std::int64_t> indices_;
  Policy policy_;
  options options_;
  std::int64_t height_ = 0, width_ = 0, channels_ = 0;
  std::int64_t batches_ = 0;

  // The epoch: written by the consumer's thread only while no worker runs.
  std::vector<std::int64_t> order_;
  std::int64_t epoch_ = -1;
  std::exception_ptr failure_;  // consumer's thread only

  // Shared with the workers, under mutex_ (cancel_ is also read between images without it).
  std::mutex mutex_;
  std::condition_variable work_cv_;   // room ahead of the consumer, or stop
  std::condition_variable ready_cv_;  // a batch is ready
  std::int64_t delivered_ = 0, claimed_ = 0;
  std::map<std::int64_t, slot> ready_;
  bool stopping_ = false;
  std::atomic<bool> cancel_{false};
  std::vector<std::thread> threads_;
};

}  // namespace data
FERGEN_END_NAMESPACE
