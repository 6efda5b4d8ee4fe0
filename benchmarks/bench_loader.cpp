// bench_loader: images per second of the input pipeline the study's backbones need (48x48 gray -> 160x160,
// the study's Keras augmentation), (a) from JPEG files on disk (decode + resize + augmentation, plain threads)
// and (b) from memory through data::batch_loader (resize + augmentation + into the [N, 3, 160, 160] tensor),
// with 1 and 2 workers. No PyTorch peer here: the point is whether the loader keeps up with training
// (ResNet-50 forward+backward at 160x160 runs at a few images/s per core, see bench_core).
//
//   bench_loader [--images N] [--seconds S] [--batch B]
#include <fergen/augment/study.hpp>
#include <fergen/core/rng.hpp>
#include <fergen/data/batch_loader.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/image_io.hpp>
#include <fergen/data/resize.hpp>

#include <omp.h>
#include <unistd.h>

#include "bench_support.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace fergen;

struct options {
  std::int64_t images = 300;
  double seconds = 2.0;
  std::int64_t batch = 32;
};

// Median seconds of one pass after one warm-up pass, over at least 3 and at most 100 passes and about `seconds` in
// total: this program's counts, named once for its four measurements.
double timed(const std::function<void()>& pass, double seconds) { return bench::median_seconds(pass, seconds, 1, 100); }

// A 48x48 gray face-like pattern (an oval, two eyes, a mouth) with noise, so that JPEG has real work to do.
data::image synthetic_face(std::uint64_t seed) {
  data::image img(1, 48, 48);
  const random_stream noise{seed, 1};
  for (std::int64_t y = 0; y < 48; ++y)
    for (std::int64_t x = 0; x < 48; ++x) {
      const double dy = (static_cast<double>(y) - 24.0) / 20.0, dx = (static_cast<double>(x) - 24.0) / 16.0;
      double v = dx * dx + dy * dy < 1.0 ? 170.0 : 60.0;
      if ((std::abs(y - 18) < 3 && (std::abs(x - 17) < 4 || std::abs(x - 31) < 4)) || (std::abs(y - 34) < 2 && std::abs(x - 24) < 7))
        v = 50.0;
      v += 30.0 * (static_cast<double>(noise.uniform(static_cast<std::uint64_t>(y * 48 + x))) - 0.5);
      img.at(0, y, x) = static_cast<float>(std::clamp(v, 0.0, 255.0));
    }
  return img;
}

std::string read_line(const char* file, const char* key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  return "unknown";
}

// (a): `threads` plain threads share the files (file i on thread i % threads); each decodes, resizes to
// 160x160 and applies the study's augmentation with parameters drawn per file, as the loader would.
void disk_pass(const std::vector<std::filesystem::path>& files, const augment::study_augmentation& policy, int threads,
               bool decode_only) {
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      omp_set_num_threads(1);  // one image per thread, as in the loader's workers
      for (std::size_t i = static_cast<std::size_t>(t); i < files.size(); i += static_cast<std::size_t>(threads)) {
        data::image img = data::load_image(files[i], data::color_mode::gray);
        if (decode_only) continue;
        img = data::resize_bilinear(img, 160, 160, true);
        generator g(i);
        const auto q = policy.sample(g, 160, 160);
        img = policy.apply(img, q);
        if (img.pixels.empty()) std::abort();
      }
    });
  for (auto& t : pool) t.join();
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  std::string command = argv[0];
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  bench::command_line args("bench_loader");
  args.option("--images", o.images, "N").option("--seconds", o.seconds, "S").option("--batch", o.batch, "B");
  if (!args.parse(argc, argv)) return 2;
  if (o.images < 1 || o.batch < 1 || !(o.seconds > 0)) {
    std::fprintf(stderr, "bench_loader: --images and --batch must be >= 1 and --seconds > 0\n");
    return 2;
  }

  std::printf("bench_loader: %s\n", command.c_str());
  std::printf("machine: %s, %u hardware threads; compiler: g++ %s; OpenMP threads %d\n",
              read_line("/proc/cpuinfo", "model name").c_str(), std::thread::hardware_concurrency(), __VERSION__,
              omp_get_max_threads());

  // The files: N 48x48 gray JPEGs (quality 95) in a fresh temporary directory.
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("fergen-bench-loader-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::vector<std::filesystem::path> files;
  data::dataset ds({"face"});
  for (std::int64_t i = 0; i < o.images; ++i) {
    files.push_back(dir / ("face" + std::to_string(i) + ".jpg"));
    data::write_jpeg(files.back(), synthetic_face(static_cast<std::uint64_t>(i)), 95);
    data::sample s;
    s.image = data::load_image(files.back(), data::color_mode::gray);  // what the in-memory run starts from
    ds.add(std::move(s));
  }
  std::printf("%lld JPEGs of 48x48 gray in %s; batch %lld; ~%.1f s per measurement, median pass\n\n",
              static_cast<long long>(o.images), dir.c_str(), static_cast<long long>(o.batch), o.seconds);

  const augment::study_augmentation policy = augment::study_policy();
  const auto n = static_cast<double>(o.images);
  struct row {
    std::string what;
    std::string workers;
    double rate;
  };
  std::vector<row> rows;

  rows.push_back({"(a) decode JPEG only", "1 thread", n / timed([&] { disk_pass(files, policy, 1, true); }, o.seconds)});
  for (const int threads : {1, 2})
    rows.push_back({"(a) decode + resize 160 + study aug", std::to_string(threads) + (threads == 1 ? " thread" : " threads"),
                    n / timed([&] { disk_pass(files, policy, threads, false); }, o.seconds)});

  std::vector<std::int64_t> indices(static_cast<std::size_t>(o.images));
  for (std::int64_t i = 0; i < o.images; ++i) indices[static_cast<std::size_t>(i)] = i;
  for (const std::int64_t workers : {1, 2}) {
    using loader_type = data::batch_loader<cpu<float>, augment::study_augmentation>;
    loader_type loader(ds, indices, policy,
                       {.batch_size = o.batch, .height = 160, .width = 160, .channels = 3, .seed = 1, .workers = workers,
                        .prefetch = 2});
    std::int64_t epoch = 0;
    const double seconds = timed(
        [&] {
          loader.start_epoch(epoch++);
          std::int64_t seen = 0;
          while (auto b = loader.next()) seen += b->images.shape().n;
          if (seen != o.images) std::abort();
        },
        o.seconds);
    rows.push_back({"(b) memory: resize 160 + study aug + tensor [N,3,160,160] (batch_loader)",
                    std::to_string(workers) + (workers == 1 ? " worker" : " workers"), n / seconds});
  }

  std::printf("%-74s %-10s %12s\n", "pipeline (48x48 gray -> 160x160)", "workers", "images/s");
  for (const auto& r : rows) std::printf("%-74s %-10s %12.0f\n", r.what.c_str(), r.workers.c_str(), r.rate);
  std::printf("\n2 workers / 1 worker: disk %.2fx, memory %.2fx\n", rows[2].rate / rows[1].rate, rows[4].rate / rows[3].rate);

  std::filesystem::remove_all(dir);
  return 0;
}
