// fergen train-diffusion: trains the class-conditional diffusion UNet on CASME II, an image folder or the
// procedural faces; writes OUT/checkpoint.npz (resumable exactly) and per-class sample grids OUT/samples/.
#include "commands.hpp"
#include "data_source.hpp"
#include "device.hpp"
#include "train_run.hpp"

#include <fergen/core/key_value.hpp>
#include <fergen/core/parallel.hpp>
#include <fergen/diffusion/checkpoint.hpp>
#include <fergen/diffusion/presets.hpp>
#include <fergen/diffusion/train.hpp>
#include <fergen/diffusion/trainer.hpp>
#include <fergen/models/unet.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/parameters.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fergen::tool {
namespace {

struct train_arguments {
  dataset_arguments source;
  std::string data, preset = "study", out = "diffusion-run", schedule, prediction, optimizer, weighting, betas;
  std::int64_t steps = 0, batch = 0, base_channels = 0, res_blocks = 0, timesteps = 0, warmup = 0, heads = 0,
               groups = 0, log_every = 50, checkpoint_every = 500, sample_every = 0, samples_per_class = 8,
               grid_steps = 50;
  std::string channel_mult, attention;
  double lr = 0, beta_start = 0, beta_end = 0, dropout = 0, label_dropout = 0, ema_decay = 0, grad_clip = 0,
         weight_decay = 0, snr_gamma = 0, max_minutes = 0, min_motion = 0;
  bool resume = false, flip = false, middle_attention = false;
  std::uint64_t seed = 0;
  std::string device = "cpu";
};

// A file of betas separated by whitespace, commas or both; each line's comma list goes through the one list parser.
std::vector<double> read_betas(const std::string& file) {
  std::ifstream in(file);
  require(in.good(), "--betas ", file, ": cannot read the file");
  std::vector<double> betas;
  std::string token;
  while (in >> token) {
    const std::vector<double> part = parse_list<double>(token, "--betas " + file);
    betas.insert(betas.end(), part.begin(), part.end());
  }
  return betas;
}

}  // namespace

void add_train_diffusion_command(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<train_arguments>();
  CLI::App* cmd = app.add_subcommand(
      "train-diffusion", "Train the class-conditional diffusion UNet; OUT/checkpoint.npz resumes exactly and feeds "
                         "`fergen generate`");
  add_source_options(cmd, a->source);
  auto* data = cmd->add_option("--data", a->data, "Image folder ROOT/<class>/*.png (any number of classes); same as --folder")
                   ->check(CLI::ExistingDirectory);
  data->excludes(cmd->get_option("--casme2"))->excludes(cmd->get_option("--folder"))->excludes(cmd->get_option("--procedural"));
  cmd->add_option("--preset", a->preset, "Defaults for everything below: demo (32x32, ~3 min on 2 cores) or study (48x48)")
      ->capture_default_str();
  cmd->add_option("--out", a->out, "Output folder: checkpoint.npz and samples/")->capture_default_str();
  cmd->add_flag("--resume", a->resume, "Continue the run in --out from its checkpoint (options not given are the run's)");
  // The network.
  cmd->add_option("--base-channels", a->base_channels, "UNet channels at the top level");
  cmd->add_option("--channel-mult", a->channel_mult, "Channel multiplier per level, e.g. 1,2,2");
  cmd->add_option("--res-blocks", a->res_blocks, "Residual blocks per level");
  cmd->add_option("--attention", a->attention, "Feature-map sizes with self-attention, e.g. 12 or 24,12; none: no attention");
  cmd->add_flag("--middle-attention,!--no-middle-attention", a->middle_attention, "Self-attention in the middle block");
  cmd->add_option("--heads", a->heads, "Attention heads");
  cmd->add_option("--groups", a->groups, "Group-normalisation groups");
  cmd->add_option("--dropout", a->dropout, "Dropout in the residual blocks");
  // The diffusion process.
  cmd->add_option("--schedule", a->schedule, "Beta schedule: linear, scaled_linear, cosine, sigmoid");
  cmd->add_option("--timesteps", a->timesteps, "Diffusion steps T");
  cmd->add_option("--beta-start", a->beta_start, "First beta of the linear-type schedules");
  cmd->add_option("--beta-end", a->beta_end, "Last beta of the linear-type schedules");
  cmd->add_option("--betas", a->betas, "File of betas (whitespace- or comma-separated): a custom schedule")
      ->check(CLI::ExistingFile);
  cmd->add_option("--prediction", a->prediction, "What the network predicts: eps, x0 or v");
  // The optimisation.
  cmd->add_option("--steps", a->steps, "Training steps (with --resume: the total to reach)");
  cmd->add_option("--batch", a->batch, "Images per step");
  cmd->add_option("--lr", a->lr, "Learning rate after warm-up");
  cmd->add_option("--warmup", a->warmup, "Linear learning-rate warm-up steps");
  cmd->add_option("--optimizer", a->optimizer, "adam or adamw");
  cmd->add_option("--weight-decay", a->weight_decay, "Weight decay");
  cmd->add_option("--grad-clip", a->grad_clip, "Maximum gradient norm (0: off)");
  cmd->add_option("--ema-decay", a->ema_decay, "Decay of the weight average sampled from");
  cmd->add_option("--label-dropout", a->label_dropout, "Probability of training a sample unconditionally (guidance)");
  cmd->add_option("--loss-weighting", a->weighting, "uniform or min-snr");
  cmd->add_option("--snr-gamma", a->snr_gamma, "gamma of min-snr");
  cmd->add_option("--seed", a->seed, "Seed of the initial weights and of every draw of the run");
  cmd->add_option("--device", a->device, "cpu, or cuda in a CUDA build")->capture_default_str();
  cmd->add_flag("--flip", a->flip, "Random left-right flips of the training images");
  cmd->add_option("--min-motion", a->min_motion,
                  "Learn the frames that moved at least this part of the way from their clip's first frame to its "
                  "farthest (0: every frame; images without a clip are always learned)");
  // Reporting.
  cmd->add_option("--log-every", a->log_every, "Steps between progress lines")->capture_default_str();
  cmd->add_option("--checkpoint-every", a->checkpoint_every, "Steps between checkpoints (0: at the end only)")
      ->capture_default_str();
  cmd->add_option("--sample-every", a->sample_every, "Steps between per-class sample grids (0: at the end only)")
      ->capture_default_str();
  cmd->add_option("--samples-per-class", a->samples_per_class, "Columns of the sample grids")->capture_default_str();
  cmd->add_option("--grid-steps", a->grid_steps, "DDIM steps of the sample grids")->capture_default_str();
  cmd->add_option("--max-minutes", a->max_minutes, "Stop after this many minutes (the step count then depends on the machine)");

  cmd->callback([a, cmd, &run] {
    run = [a, cmd] {
      auto given = [&](const char* name) { return cmd->count(name) > 0; };
      if (!a->data.empty()) a->source.folder = a->data;
      require_source(a->source, "train-diffusion");
      [[maybe_unused]] const bool cuda = use_cuda(a->device);
      const std::filesystem::path out = a->out;
      const std::filesystem::path checkpoint_file = out / diffusion::checkpoint_file_name;

      // Everything is decided and checked before the data are read.
      diffusion::preset p = diffusion::presets::by_name(a->preset, 1);
      std::optional<diffusion::checkpoint> previous;
      if (a->resume) {
        previous = diffusion::read_checkpoint(checkpoint_file);
        require(previous->model_type == "unet", previous->origin, ": not a UNet checkpoint");
        p.model = models::unet_config::from_entries(previous->model, previous->origin);
        p.process = previous->process;
        p.trainer = diffusion::trainer_options::from_entries(previous->trainer, previous->origin);
      } else {
        std::error_code ec;
        require(!std::filesystem::exists(checkpoint_file, ec), checkpoint_file.string(),
                " already exists: pass --resume to continue that run, or choose another --out");
      }
      models::unet_config& m = p.model;
      // The preset's attention sits at levels, not sizes: it stays at those levels (that exist) when --size or
      // --channel-mult change the sizes.
      std::vector<std::int64_t> attention_levels;
      for (std::int64_t level = 0; level < m.levels(); ++level)
        if (m.attention_at_level(level)) attention_levels.push_back(level);
      if (given("--size")) m.image_size = a->source.size;
      if (given("--base-channels")) m.base_channels = a->base_channels;
      if (given("--channel-mult")) m.channel_mult = parse_list<std::int64_t>(a->channel_mult, "--channel-mult");
      if (given("--res-blocks")) m.res_blocks = a->res_blocks;
      m.attention_resolutions.clear();
      for (const auto level : attention_levels)
        if (level < m.levels()) m.attention_resolutions.push_back(m.image_size >> level);
      if (given("--attention"))
        m.attention_resolutions = a->attention == "none" ? std::vector<std::int64_t>{}
                                                         : parse_list<std::int64_t>(a->attention, "--attention");
      if (given("--middle-attention")) m.middle_attention = a->middle_attention;  // counts --no-middle-attention too
      if (given("--heads")) m.heads = a->heads;
      if (given("--groups")) m.groups = a->groups;
      if (given("--dropout")) m.dropout = a->dropout;
      diffusion::beta_schedule& s = p.process.schedule;
      if (given("--schedule")) s.kind = diffusion::beta_schedule_from_name(a->schedule);
      require(s.kind != diffusion::beta_schedule_kind::custom || given("--betas") || a->resume,
              "--schedule custom: give the betas with --betas FILE");
      if (given("--timesteps")) s.timesteps = a->timesteps;
      if (given("--beta-start")) s.beta_start = a->beta_start;
      if (given("--beta-end")) s.beta_end = a->beta_end;
      if (given("--betas")) {
        s.kind = diffusion::beta_schedule_kind::custom;
        s.given = read_betas(a->betas);
        s.timesteps = static_cast<std::int64_t>(s.given.size());
      }
      if (given("--prediction")) p.process.prediction = diffusion::prediction_type_from_name(a->prediction);
      diffusion::trainer_options& t = p.trainer;
      if (given("--steps")) t.steps = a->steps;
      if (given("--batch")) t.batch = a->batch;
      if (given("--lr")) t.lr = a->lr;
      if (given("--warmup")) t.warmup_steps = a->warmup;
      if (given("--optimizer")) {
        require(a->optimizer == "adam" || a->optimizer == "adamw", "--optimizer: unknown optimizer '", a->optimizer,
                "' (known: adam, adamw)");
        t.adamw = a->optimizer == "adamw";
      }
      if (given("--weight-decay")) t.weight_decay = a->weight_decay;
      if (given("--grad-clip")) t.grad_clip = a->grad_clip;
      if (given("--ema-decay")) t.ema_decay = a->ema_decay;
      if (given("--label-dropout")) t.label_dropout = a->label_dropout;
      if (given("--loss-weighting")) t.weighting.kind = diffusion::loss_weighting_from_name(a->weighting);
      if (given("--snr-gamma")) t.weighting.gamma = a->snr_gamma;
      if (given("--seed")) t.seed = a->seed;
      if (given("--min-motion")) t.min_motion = a->min_motion;
      m.validate();
      p.process.validate();
      t.validate();
      // A resumed run must keep its network and process: any change is refused here, before the data load.
      if (previous) previous->require_fits("unet", m.entries(), p.process);
      diffusion::train_options o;
      o.out = out;
      o.log_every = a->log_every;
      o.checkpoint_every = a->checkpoint_every;
      o.sample_every = a->sample_every;
      o.samples_per_class = a->samples_per_class;
      o.grid_sampler.steps = a->grid_steps;
      o.hflip = a->flip;
      o.max_seconds = 60.0 * a->max_minutes;
      require(a->max_minutes >= 0, "--max-minutes ", a->max_minutes, " is negative");
      o.grid_sampler.timesteps(p.process.schedule.timesteps);
      require(t.steps > (previous ? previous->step : 0), "--steps ", t.steps, ": the run in ", out.string(),
              " is already at step ", previous ? previous->step : 0, "; give a larger total to continue it");

      const auto start = std::chrono::steady_clock::now();
      a->source.size = m.image_size;
      const data::dataset ds = load_source(a->source);
      std::printf("data: loaded in %.1f s: ",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      print_summary(ds);
      require(!ds.empty(), "train-diffusion: the dataset is empty");
      if (previous) {
        require(ds.class_count() == m.classes, "train-diffusion --resume: the data have ", ds.class_count(),
                " classes, the run ", m.classes);
      } else {
        m.classes = ds.class_count();
        m.image_channels = ds[0].image.channels;
      }
      if (t.min_motion > 0)
        std::printf("learning %zu of the %lld frames: those that moved at least %g of the way from their clip's first "
                    "frame\n",
                    data::moving_frames(ds, t.min_motion).size(), static_cast<long long>(ds.size()), t.min_motion);
#if FERGEN_TOOL_CUDA
      const diffusion::train_summary r =
          cuda ? train_unet_cuda(m, p.process, t, ds, o, previous.has_value(), checkpoint_file)
               : train_unet_on<cpu<float>>(m, p.process, t, ds, o, previous.has_value(), checkpoint_file);
#else
      const diffusion::train_summary r =
          train_unet_on<cpu<float>>(m, p.process, t, ds, o, previous.has_value(), checkpoint_file);
#endif
      std::printf("trained %lld steps in %s (%.1f images/s); checkpoint %s; samples %s\n",
                  static_cast<long long>(r.steps), diffusion::format_duration(r.seconds).c_str(), r.images_per_second,
                  checkpoint_file.string().c_str(), (out / "samples").string().c_str());
      return 0;
    };
  });
}

}  // namespace fergen::tool
