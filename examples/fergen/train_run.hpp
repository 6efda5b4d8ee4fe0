// `fergen train-diffusion`'s work once options and data are settled, as a template over the backend: the network,
// the trainer, resuming, the training loop. command_train_diffusion.cpp runs it on the CPU, and in a CUDA build
// study_run_cuda.cu instantiates it for cuda<float> (--device cuda).
#pragma once

#include <fergen/core/key_value.hpp>
#include <fergen/core/parallel.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/diffusion/config.hpp>
#include <fergen/diffusion/train.hpp>
#include <fergen/diffusion/trainer.hpp>
#include <fergen/models/unet.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/parameters.hpp>

#include <cstdio>
#include <filesystem>

namespace fergen::tool {

// Builds the UNet of configuration m, resumes from checkpoint_file when `resume`, trains on ds and returns the
// summary (the loop writes checkpoints and sample grids under o.out).
template <class B>
diffusion::train_summary train_unet_on(const models::unet_config& m, const diffusion::diffusion_config& process,
                                       const diffusion::trainer_options& t, const data::dataset& ds,
                                       const diffusion::train_options& o, bool resume,
                                       const std::filesystem::path& checkpoint_file) {
  models::unet<B> net(m);
  nn::initialize(net, t.seed);
  std::printf("network: UNet %s; %.2fM parameters\n", m.describe().c_str(),
              static_cast<double>(nn::parameter_count(net)) / 1e6);
  std::printf("process: %s\n", process.describe().c_str());
  // The options as the checkpoint holds them (exactly), so a resumed run shows what it trains with.
  std::printf("training: %lld steps of %lld images, %s lr %s (warm-up %lld), EMA %s, label dropout %s, loss %s, "
              "seed %llu; %d threads\n",
              static_cast<long long>(t.steps), static_cast<long long>(t.batch), t.adamw ? "AdamW" : "Adam",
              value_text(t.lr).c_str(), static_cast<long long>(t.warmup_steps), value_text(t.ema_decay).c_str(),
              value_text(t.label_dropout).c_str(), t.weighting.describe().c_str(),
              static_cast<unsigned long long>(t.seed), thread_count());
  diffusion::trainer trainer(net, process, t, ds.class_names());
  if (resume) {
    trainer.load(checkpoint_file);
    std::printf("resumed %s at step %lld\n", checkpoint_file.string().c_str(),
                static_cast<long long>(trainer.steps_done()));
  }
  std::fflush(stdout);
  return diffusion::train(trainer, ds, o);
}

#if FERGEN_TOOL_CUDA
diffusion::train_summary train_unet_cuda(const models::unet_config& m, const diffusion::diffusion_config& process,
                                         const diffusion::trainer_options& t, const data::dataset& ds,
                                         const diffusion::train_options& o, bool resume,
                                         const std::filesystem::path& checkpoint_file);  // study_run_cuda.cu
#endif

}  // namespace fergen::tool
