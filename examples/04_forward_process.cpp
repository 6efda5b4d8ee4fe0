// 04_forward_process: what the diffusion model learns to undo. One face, noised by the forward process
//   x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps
// at increasing t, under DDPM's linear schedule and Nichol & Dhariwal's cosine schedule, with the same noise
// eps, so the two rows differ only in how fast each schedule destroys the signal. Prints abar_t and the
// signal-to-noise ratio abar / (1 - abar) along the way, and writes the strip as a PNG.
//
//   04_forward_process [--out strip.png] [--size 48] [--scale 2]
//
// By default it writes docs/forward_process.png (run it from the repository root).
#include <fergen/data/image_io.hpp>
#include <fergen/data/procedural_faces.hpp>
#include <fergen/data/resize.hpp>
#include <fergen/diffusion/image_tensors.hpp>
#include <fergen/diffusion/noise_schedule.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace data = fergen::data;
namespace diffusion = fergen::diffusion;
using B = fergen::cpu<float>;

int main(int argc, char** argv) {
  std::string out = "docs/forward_process.png";
  std::int64_t size = 48, scale = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--out") out = argv[i + 1];
    else if (flag == "--size") size = std::stoll(argv[i + 1]);
    else if (flag == "--scale") scale = std::stoll(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--out strip.png] [--size 48] [--scale 2]\n", argv[0]);
      return 2;
    }
  }
  try {
    // A face at the apex of its expression: the middle frame of the first clip of the procedural faces.
    data::procedural_options faces;
    faces.subjects = 1;
    const data::dataset ds = data::procedural_faces(faces);
    std::int64_t frames = 0;
    for (const auto& s : ds) frames += s.clip == ds[0].clip;
    const data::image face = data::resize_bilinear(ds[frames / 2].image, size, size);
    const data::image* one[] = {&face};
    const auto x0 = diffusion::batch_from_images<B>(one);

    const std::vector<std::int64_t> steps{0, 50, 100, 200, 300, 500, 700, 999};
    const diffusion::noise_schedule linear{diffusion::beta_schedule{}};
    const diffusion::noise_schedule cosine{diffusion::beta_schedule{.kind = diffusion::beta_schedule_kind::cosine}};
    fergen::context<B> ctx = fergen::context<B>::eval();
    // One noise image for every cell: eps is the same, only the schedule and t change.
    const fergen::random_stream streams[] = {{7, 1}};
    const auto eps = fergen::ops::diffusion_steps<B>::normal(ctx, x0.shape(), streams, 0);

    std::printf("The forward process on one %lldx%lld face (class '%s'), the same noise in every cell:\n\n",
                static_cast<long long>(size), static_cast<long long>(size),
                ds.class_names()[static_cast<std::size_t>(ds[0].label)].c_str());
    std::printf("%6s  %12s %10s  %12s %10s\n", "t", "linear abar", "SNR", "cosine abar", "SNR");
    std::vector<data::image> cells;
    for (const auto* schedule : {&linear, &cosine})
      for (const auto t : steps) {
        const std::int64_t ts[] = {t};
        const auto x_t = schedule->q_sample(ctx, x0, eps, ts);
        data::image cell = diffusion::images_from_batch(x_t).front();
        cells.push_back(data::resize_nearest(cell, size * scale, size * scale));
      }
    for (const auto t : steps)
      std::printf("%6lld  %12.5f %10.4f  %12.5f %10.4f\n", static_cast<long long>(t), linear.alpha_bar(t), linear.snr(t),
                  cosine.alpha_bar(t), cosine.snr(t));
    data::write_png(out, diffusion::image_grid(cells, static_cast<std::int64_t>(steps.size()), 2 * scale));
    std::printf("\nwrote %s: top row linear (DDPM), bottom row cosine, t = 0, 50, 100, 200, 300, 500, 700, 999.\n"
                "The linear schedule has destroyed most of the face by t = 300 (SNR < 1) and spends the last\n"
                "third of its steps on near-pure noise; the cosine schedule keeps the face visible far longer,\n"
                "so more of the network's training steps fall where there is something left to denoise.\n",
                out.c_str());
  } catch (const fergen::error& e) {
    std::fprintf(stderr, "04_forward_process: %s\n", e.what());
    return 1;
  }
  return 0;
}
