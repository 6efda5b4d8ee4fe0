// Tests of the trainer (diffusion/trainer.hpp, train.hpp), checkpoints (checkpoint.hpp) and generation
// (generate.hpp) with a tiny UNet: exact resume, strict architecture checks, determinism by seed, shards
// whose union is the unsharded set, and the image folder read back by data/image_folder.hpp.
#include <fergen/data/image_folder.hpp>
#include <fergen/diffusion/checkpoint.hpp>
#include <fergen/diffusion/generate.hpp>
#include <fergen/diffusion/train.hpp>
#include <fergen/diffusion/trainer.hpp>
#include <fergen/models/unet.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/state_dict.hpp>

#include "support/errors.hpp"

#include <doctest/doctest.h>

#include <bit>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

using namespace fergen;
using namespace fergen::diffusion;
using testing::contains;
using testing::error_of;
using B = cpu<float>;
using unet = models::unet<B>;

namespace {

std::filesystem::path scratch(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("fergen-test-diffusion-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

models::unet_config tiny(std::int64_t base = 8) {
  models::unet_config c;
  c.image_size = 8;
  c.base_channels = base;
  c.channel_mult = {1, 2};
  c.res_blocks = 1;
  c.attention_resolutions = {4};
  c.groups = 4;
  c.dropout = 0.1;
  c.classes = 3;
  return c;
}

// Twelve 8x8 gray images in three classes: a bright square whose position says the class, plus noise.
data::dataset squares() {
  data::dataset ds({"left", "middle", "right"});
  generator g(5);
  for (int i = 0; i < 12; ++i) {
    data::sample s;
    s.label = i % 3;
    s.image = data::image(1, 8, 8, 40.0f);
    for (int y = 2; y < 6; ++y)
      for (int x = 0; x < 3; ++x) s.image.at(0, y, static_cast<std::int64_t>(s.label) * 2 + x + 1) = 220.0f;
    for (auto& p : s.image.pixels) p = std::clamp(p + static_cast<float>(20 * (g.uniform() - 0.5)), 0.0f, 255.0f);
    ds.add(std::move(s));
  }
  return ds;
}

trainer_options quick(std::int64_t steps, std::uint64_t seed = 3) {
  trainer_options o;
  o.batch = 4;
  o.steps = steps;
  o.lr = 1e-3;
  o.warmup_steps = 2;
  o.ema_decay = 0.99;
  o.label_dropout = 0.2;
  o.seed = seed;
  return o;
}

std::vector<float> values_of(unet& net) {
  std::vector<float> all;
  nn::for_each_parameter(net, [&](std::string_view, nn::parameter<B>& p) {
    all.insert(all.end(), p.value.values().begin(), p.value.values().end());
  });
  return all;
}

train_options silent(const std::filesystem::path& out) {
  train_options o;
  o.out = out;
  o.log_every = 1000;
  o.checkpoint_every = 0;
  o.samples_per_class = 2;
  o.grid_sampler.steps = 3;
  return o;
}

}  // namespace

TEST_CASE("checkpoint/resume: N steps straight == N/2, save, load into a fresh trainer, N/2 (bit-identical)") {
  const data::dataset ds = squares();
  const diffusion_config process{};
  // Straight: 6 steps.
  unet a(tiny());
  nn::initialize(a, 1);
  trainer ta(a, process, quick(6), ds.class_names());
  train(ta, ds, silent(scratch("straight")), {});
  // Split: 3 steps, checkpoint, then a fresh network (other initial weights) and trainer resume to 6.
  const auto dir = scratch("split");
  {
    unet b(tiny());
    nn::initialize(b, 1);
    trainer tb(b, process, quick(3), ds.class_names());
    train(tb, ds, silent(dir), {});
    CHECK(tb.steps_done() == 3);
  }
  unet c(tiny());
  nn::initialize(c, 99);
  trainer tc(c, process, quick(6), ds.class_names());
  tc.load(dir);
  CHECK(tc.steps_done() == 3);
  train(tc, ds, silent(dir), {});
  CHECK(tc.steps_done() == 6);
  CHECK(values_of(a) == values_of(c));
  unet ea = ta.averaged_model(), ec = tc.averaged_model();
  CHECK(values_of(ea) == values_of(ec));
  CHECK(ta.ema().updates() == tc.ema().updates());
  const auto ra = ta.rng_state(), rc = tc.rng_state();
  CHECK(ra.seed == rc.seed);
  CHECK(ra.streams_taken == rc.streams_taken);
  CHECK(ra.words_used == rc.words_used);
  // The saved files agree entry for entry, optimiser moments and generator state included.
  const auto saved = scratch("saved");
  ta.save(saved / "a.npz");
  tc.save(saved / "c.npz");
  const npz_archive fa = read_npz(saved / "a.npz"), fc = read_npz(saved / "c.npz");
  CHECK(fa.size() == fc.size());
  CHECK(fa.contains("optim.out.2.weight.exp_avg_sq"));
  for (const auto& [key, array] : fa) {
    CAPTURE(key);
    REQUIRE(fc.contains(key));
    CHECK(array.bytes == fc.at(key).bytes);
  }
  // Same seed -> the same run; another seed -> another.
  unet d(tiny());
  nn::initialize(d, 1);
  trainer td(d, process, quick(6), ds.class_names());
  train(td, ds, silent({}), {});
  CHECK(values_of(d) == values_of(a));
  unet e(tiny());
  nn::initialize(e, 1);
  trainer te(e, process, quick(6, 4), ds.class_names());
  train(te, ds, silent({}), {});
  CHECK(values_of(e) != values_of(a));
  // The run wrote its per-class grid.
  CHECK(std::filesystem::exists(dir / "samples" / "step_0000006.png"));
  CHECK(std::filesystem::exists(dir / "checkpoint.npz"));
}

namespace {

bool same_bits(double a, double b) { return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b); }

// Options none of which a 6-digit format writes exactly (and one, the EMA decay, that it writes as 1).
trainer_options non_round(std::int64_t steps) {
  trainer_options o = quick(steps);
  o.lr = 1.23456789e-4;
  o.ema_decay = 0.9999999;
  o.ema_warmup = false;
  o.grad_clip = 0.7071067811865476;
  o.beta1 = 0.8999999999;
  o.beta2 = 0.99912345678;
  o.weight_decay = 0.0123456789;
  o.label_dropout = 0.2345678901;
  o.weighting = {.kind = loss_weighting_kind::min_snr, .gamma = 4.56789012345};
  o.seed = 12345678901234567ull;
  return o;
}

models::unet_config non_round_net() {
  models::unet_config c = tiny();
  c.dropout = 0.123456789;
  return c;
}

diffusion_config non_round_process() {
  diffusion_config p;
  p.schedule.timesteps = 50;
  p.schedule.beta_start = 1.23456789e-4;
  p.schedule.beta_end = 0.0212345678901;
  return p;
}

}  // namespace

TEST_CASE("resume with non-round options: N straight == N/2, save, a run rebuilt from the file alone, N/2") {
  const data::dataset ds = squares();
  unet a(non_round_net());
  nn::initialize(a, 1);
  trainer ta(a, non_round_process(), non_round(6), ds.class_names());
  train(ta, ds, silent({}), {});

  const auto dir = scratch("non-round");
  {
    unet b(non_round_net());
    nn::initialize(b, 1);
    trainer tb(b, non_round_process(), non_round(3), ds.class_names());
    train(tb, ds, silent(dir), {});
  }
  // As `train-diffusion --resume --steps 6` does: network, process and options from the checkpoint, the length
  // from the command line.
  const checkpoint saved = read_checkpoint(dir);
  unet c(models::unet_config::from_entries(saved.model, saved.origin));
  trainer_options options = trainer_options::from_entries(saved.trainer, saved.origin);
  options.steps = 6;
  trainer tc(c, saved.process, options, saved.class_names);
  tc.load(dir);
  train(tc, ds, silent(dir), {});

  CHECK(values_of(a) == values_of(c));
  unet ea = ta.averaged_model(), ec = tc.averaged_model();
  CHECK(values_of(ea) == values_of(ec));
  const auto files = scratch("non-round-saved");
  ta.save(files / "a.npz");
  tc.save(files / "c.npz");
  const npz_archive fa = read_npz(files / "a.npz"), fc = read_npz(files / "c.npz");
  REQUIRE(fa.size() == fc.size());
  for (const auto& [key, array] : fa) {  // weights, EMA, Adam moments and steps, generator, every meta entry
    CAPTURE(key);
    REQUIRE(fc.contains(key));
    CHECK(array.bytes == fc.at(key).bytes);
  }
}

TEST_CASE("every run file round-trips every double exactly: network, process, trainer, sampler") {
  auto through_text = [](const key_value_list& entries) {
    return parse_key_value_text(key_value_text(entries), "test");
  };
  const models::unet_config net = non_round_net();
  const models::unet_config net_back = models::unet_config::from_entries(through_text(net.entries()), "test");
  CHECK(net_back == net);
  CHECK(same_bits(net_back.dropout, net.dropout));

  diffusion_config process = non_round_process();
  process.schedule.cosine_offset = 0.0080000000000000002;
  process.schedule.max_beta = 0.99899999999999999;
  const diffusion_config process_back = diffusion_config::from_entries(through_text(process.entries()), "test");
  CHECK(same_bits(process_back.schedule.beta_start, process.schedule.beta_start));
  CHECK(same_bits(process_back.schedule.beta_end, process.schedule.beta_end));
  CHECK(same_bits(process_back.schedule.cosine_offset, process.schedule.cosine_offset));
  CHECK(same_bits(process_back.schedule.max_beta, process.schedule.max_beta));
  diffusion_config custom{.schedule = {.kind = beta_schedule_kind::custom, .given = {1e-4, 1.0 / 3.0, 0.1 + 0.2}}};
  CHECK(diffusion_config::from_entries(through_text(custom.entries()), "test").schedule.given == custom.schedule.given);

  const trainer_options t = non_round(7);
  const trainer_options t_back = trainer_options::from_entries(through_text(t.entries()), "test");
  CHECK(key_value_text(t_back.entries()) == key_value_text(t.entries()));
  for (const auto& [a, b] : {std::pair{t_back.lr, t.lr}, {t_back.ema_decay, t.ema_decay}, {t_back.grad_clip, t.grad_clip},
                             {t_back.beta1, t.beta1}, {t_back.beta2, t.beta2}, {t_back.weight_decay, t.weight_decay},
                             {t_back.label_dropout, t.label_dropout}, {t_back.weighting.gamma, t.weighting.gamma},
                             {t_back.min_motion, t.min_motion}})
    CHECK(same_bits(a, b));
  CHECK(t_back.seed == t.seed);
  CHECK(t_back.ema_warmup == t.ema_warmup);
  CHECK(t_back.weighting.kind == t.weighting.kind);

  sampler_options s;
  s.kind = sampler_kind::ddpm;
  s.steps = 17;
  s.spacing = timestep_spacing::linspace;
  s.offset = 1;
  s.eta = 0.333333333333;
  s.variance = variance_type::fixed_large;
  s.clip = {.enabled = false, .range = 1.0000001};
  s.guidance.scale = 2.7182818284590451;
  const sampler_options s_back = sampler_options::from_entries(through_text(s.entries()), "test");
  CHECK(key_value_text(s_back.entries()) == key_value_text(s.entries()));
  CHECK(same_bits(s_back.eta, s.eta));
  CHECK(same_bits(s_back.clip.range, s.clip.range));
  CHECK(same_bits(s_back.guidance.scale, s.guidance.scale));
  CHECK(s_back.kind == s.kind);
  CHECK(s_back.spacing == s.spacing);
  CHECK(s_back.variance == s.variance);
  CHECK_FALSE(s_back.clip.enabled);
  auto broken = through_text(s.entries());
  broken["sampler"] = "euler";
  CHECK(contains(error_of([&] { sampler_options::from_entries(broken, "gen"); }), "unknown sampler 'euler'"));
  broken = through_text(s.entries());
  broken["eta"] = "0.5x";
  CHECK(error_of([&] { sampler_options::from_entries(broken, "gen"); }) == "gen: sampler option 'eta' = '0.5x' is not a number");
  broken = through_text(s.entries());
  broken["seed"] = "1";
  CHECK(error_of([&] { sampler_options::from_entries(broken, "gen"); }) == "gen: unknown sampler option key 'seed'");
}

TEST_CASE("a checkpoint written by an older fergen (doubles in 6 digits, '0.0001') still loads and resumes") {
  const data::dataset ds = squares();
  const auto dir = scratch("old-format");
  unet a(tiny());
  nn::initialize(a, 1);
  trainer_options o = quick(2);
  o.lr = 1e-4;  // shortest form "1e-04"; older files hold "0.0001"
  trainer ta(a, diffusion_config{}, o, ds.class_names());
  train(ta, ds, silent(dir), {});
  // Rewrite the text members as the older format did (ostream's default for doubles).
  npz_archive file = read_npz(dir / checkpoint_file_name);
  auto rewrite = [&](const std::string& key, const key_value_list& entries) {
    std::string text;
    for (const auto& [k, v] : entries) {
      const auto number = parse_value<double>(v);
      text += k + "=" + (number && v.find_first_of(".e") != std::string::npos ? str(*number) : v) + "\n";
    }
    const std::vector<std::uint8_t> bytes(text.begin(), text.end());
    file[key] = make_npy(bytes, {static_cast<std::int64_t>(bytes.size())});
  };
  rewrite("meta.trainer", o.entries());
  rewrite("meta.model", tiny().entries());
  write_npz(dir / checkpoint_file_name, file);
  const checkpoint old = read_checkpoint(dir);
  CHECK(old.trainer.at("lr") == "0.0001");
  CHECK(trainer_options::from_entries(old.trainer, old.origin).lr == 1e-4);
  unet b(models::unet_config::from_entries(old.model, old.origin));
  trainer tb(b, old.process, quick(4), old.class_names);
  CHECK_NOTHROW(tb.load(dir));
  CHECK(tb.steps_done() == 2);
}

TEST_CASE("min_motion: train() learns exactly the frames that moved, and the option survives a checkpoint") {
  // Clips of four frames: the square walks in from the left over a still first frame, so motion grows by frame.
  data::dataset clips({"left", "middle", "right"});
  const data::dataset base = squares();
  for (std::int64_t i = 0; i < base.size(); ++i) {
    data::sample s = base[i];
    s.clip = str("clip", i / 4);
    s.subject = "sub01";
    s.frame = i % 4;
    s.label = (i / 4) % 3;
    if (s.frame == 0) s.image = data::image(1, 8, 8, 40.0f);
    clips.add(std::move(s));
  }
  const std::vector<std::int64_t> moving = data::moving_frames(clips, 0.5);
  REQUIRE(moving.size() < static_cast<std::size_t>(clips.size()));
  const data::dataset chosen = clips.subset(moving);
  const diffusion_config process{};
  trainer_options with = quick(4);
  with.min_motion = 0.5;
  unet a(tiny()), b(tiny());
  nn::initialize(a, 1);
  nn::initialize(b, 1);
  trainer ta(a, process, with, clips.class_names());
  trainer tb(b, process, quick(4), clips.class_names());
  train(ta, clips, silent({}), {});
  train(tb, chosen, silent({}), {});
  CHECK(values_of(a) == values_of(b));
  // Every frame (0) is not the same run.
  unet c(tiny());
  nn::initialize(c, 1);
  trainer tc(c, process, quick(4), clips.class_names());
  train(tc, clips, silent({}), {});
  CHECK(values_of(c) != values_of(a));
  // The checkpoint keeps the option; a resumed run reads it back.
  const auto dir = scratch("min-motion");
  ta.save(dir / "checkpoint.npz");
  const checkpoint saved = read_checkpoint(dir / "checkpoint.npz");
  CHECK(trainer_options::from_entries(saved.trainer, saved.origin).min_motion == 0.5);
  with.min_motion = 1.5;
  CHECK(contains(error_of([&] { with.validate(); }), "min_motion = 1.5 is outside [0, 1]"));
}

TEST_CASE("a checkpoint of another architecture, or no checkpoint at all, is refused before anything changes") {
  const data::dataset ds = squares();
  const auto dir = scratch("arch");
  unet a(tiny());
  nn::initialize(a, 1);
  trainer ta(a, diffusion_config{}, quick(2), ds.class_names());
  train(ta, ds, silent(dir), {});

  unet wider(tiny(16));
  nn::initialize(wider, 2);
  const auto before = values_of(wider);
  trainer tw(wider, diffusion_config{}, quick(2), ds.class_names());
  const std::string message = error_of([&] { tw.load(dir); });
  CHECK(contains(message, "the checkpoint was written for another network or diffusion process (1 difference)"));
  CHECK(contains(message, "base_channels: 8 in the checkpoint, 16 here"));
  CHECK(values_of(wider) == before);

  unet same(tiny());
  trainer tv(same, diffusion_config{.prediction = prediction_type::v}, quick(2), ds.class_names());
  CHECK(contains(error_of([&] { tv.load(dir); }), "prediction: eps in the checkpoint, v here"));
  trainer tn(same, diffusion_config{}, quick(2), {"a", "b", "c"});
  CHECK(contains(error_of([&] { tn.load(dir); }), "the checkpoint's classes (left, middle, right) are not this run's (a, b, c)"));

  // A file of plain weights, and a missing file.
  nn::save_weights(a, dir / "weights.npz");
  CHECK(contains(error_of([&] { read_checkpoint(dir / "weights.npz"); }),
                 "not a fergen diffusion checkpoint (no 'meta.format' entry; it holds"));
  CHECK(contains(error_of([&] { load_unet<B>(dir / "nothing"); }), "no such checkpoint"));
  // load_unet builds the network from the checkpoint and takes the averaged weights.
  const trained_unet<B> loaded = load_unet<B>(dir);
  CHECK(loaded.model.config() == tiny());
  CHECK(loaded.class_names == ds.class_names());
  CHECK(loaded.step == 2);
  unet averaged = ta.averaged_model();
  unet copy = loaded.model;
  CHECK(values_of(copy) == values_of(averaged));
}

TEST_CASE("trainer options are checked; label dropout needs a null class") {
  models::unet_config c = tiny();
  c.null_class = false;
  unet net(c);
  CHECK(contains(error_of([&] { trainer t(net, diffusion_config{}, quick(2)); }),
                 "label_dropout = 0.2 needs a network with a null class (this one has none)"));
  unet ok(tiny());
  trainer_options bad = quick(2);
  bad.batch = 0;
  CHECK(contains(error_of([&] { trainer t(ok, diffusion_config{}, bad); }), "batch = 0 must be at least 1"));
  CHECK(contains(error_of([&] { trainer t(ok, diffusion_config{.schedule = {.timesteps = 0}}, quick(2)); }),
                 "T = 0 diffusion steps"));
  std::map<std::string, std::string> e;
  for (const auto& [k, v] : quick(7).entries()) e[k] = v;
  CHECK(trainer_options::from_entries(e, "x").steps == 7);
  e["optimizer"] = "sgd";
  CHECK(contains(error_of([&] { trainer_options::from_entries(e, "ckpt"); }), "unknown optimizer 'sgd'"));
}

TEST_CASE("generation: deterministic by seed, shards whose union is the whole set, a folder that reads back") {
  unet net(tiny());
  nn::initialize(net, 7);
  const noise_schedule schedule{beta_schedule{}};
  const std::vector<std::string> names{"left", "middle", "right"};
  const std::vector<std::int64_t> counts{3, 1, 4};
  generation_options o;
  o.sampler.steps = 4;
  o.batch = 2;
  o.seed = 11;
  const shape image{1, 1, 8, 8};
  const data::dataset all = generate(net, schedule, prediction_type::epsilon, names, counts, image, o);
  REQUIRE(all.size() == 8);
  CHECK(all.class_counts() == counts);
  CHECK(all[4].source == "right/right_00000.png");
  CHECK(all[4].frame == 0);
  // Same seed, same bits; another seed, other images.
  const data::dataset again = generate(net, schedule, prediction_type::epsilon, names, counts, image, o);
  for (std::int64_t i = 0; i < all.size(); ++i) CHECK(all[i].image == again[i].image);
  generation_options other = o;
  other.seed = 12;
  const data::dataset different = generate(net, schedule, prediction_type::epsilon, names, counts, image, other);
  CHECK(!(all[0].image == different[0].image));
  // Shards 0/2 and 1/2: together exactly the unsharded set.
  std::map<std::string, data::image> merged;
  for (std::int64_t part = 0; part < 2; ++part) {
    generation_options s = o;
    s.shard = shard::parse(str(part, "/2"));
    const data::dataset half = generate(net, schedule, prediction_type::epsilon, names, counts, image, s);
    for (const auto& sample : half) CHECK(merged.emplace(sample.source, sample.image).second);
  }
  REQUIRE(merged.size() == 8);
  for (const auto& sample : all) CHECK(merged.at(sample.source) == sample.image);
  // Written as an image folder and read back by the image-folder loader.
  const auto dir = scratch("generated");
  write_generated(all, dir, o);
  data::image_folder_options f;
  f.root = dir;
  f.color = data::color_mode::gray;
  const data::dataset back = data::load_image_folder(f);
  CHECK(back.class_names() == names);
  CHECK(back.size() == 8);
  // A class asked for 0 images gets no folder (the loader rejects empty class folders).
  generation_options none = o;
  const auto sparse = generate(net, schedule, prediction_type::epsilon, names, {2, 0, 1}, image, none);
  const auto sparse_dir = scratch("sparse");
  write_generated(sparse, sparse_dir, none);
  CHECK(std::filesystem::exists(sparse_dir / "left" / "left_00001.png"));
  CHECK(!std::filesystem::exists(sparse_dir / "middle"));
  std::map<std::string, const data::image*> by_file;
  for (const auto& s : back) by_file[std::filesystem::path(s.source).lexically_relative(dir).generic_string()] = &s.image;
  for (const auto& s : all) {
    CAPTURE(s.source);
    REQUIRE(by_file.contains(s.source));
    CHECK(*by_file.at(s.source) == s.image);
  }
  std::ifstream manifest(dir / "manifest.csv");
  std::string header, row;
  std::getline(manifest, header);
  std::getline(manifest, row);
  for (auto* line : {&header, &row})
    if (!line->empty() && line->back() == '\r') line->pop_back();  // RFC 4180 rows end in CRLF
  CHECK(header == "file,class,seed,index,sampler,steps,guidance");
  CHECK(row == "left/left_00000.png,left,11,0,ddim,4,1");
  CHECK(manifest_name(shard::parse("1/3")) == "manifest-1-of-3.csv");
}

TEST_CASE("generation: bad requests fail before any image") {
  CHECK(contains(error_of([] { shard::parse("2/2"); }), "shard 2/2 is not a part of the job"));
  CHECK(contains(error_of([] { shard::parse("half"); }), "is not of the form i/n"));

  unet net(tiny());
  const noise_schedule schedule{beta_schedule{}};
  const std::vector<std::string> names{"left", "middle", "right"};
  generation_options o;
  o.sampler.steps = 1001;
  CHECK(contains(error_of([&] { generate(net, schedule, prediction_type::epsilon, names, {1, 1, 1}, {1, 1, 8, 8}, o); }),
                 "1001 sampling steps is more than the model's T = 1000"));
  o.sampler.steps = 5;
  CHECK(contains(error_of([&] { generate(net, schedule, prediction_type::epsilon, names, {1, 1}, {1, 1, 8, 8}, o); }),
                 "2 counts for 3 classes"));
  models::unet_config c = tiny();
  c.null_class = false;
  unet no_null(c);
  o.sampler.guidance.scale = 2;
  CHECK(contains(error_of([&] { generate(no_null, schedule, prediction_type::epsilon, names, {1, 1, 1}, {1, 1, 8, 8}, o); }),
                 "needs a network with a null class"));
}
