// fergen/diffusion/checkpoint.hpp: the file a diffusion training run writes and resumes from: writing a run's
// state into it, restoring a run from it, and loading a trained network from it.
//
// One .npz (numpy can read it): the network's weights ("model.<name>"), their moving average ("ema.<name>",
// "ema.updates"), the optimiser's state ("optim.<name>.exp_avg", ...), and text members (uint8 arrays)
// describing everything needed to rebuild the run: "meta.format", "meta.model_type", "meta.model" (the
// network's configuration, key=value lines), "meta.process" (schedule and prediction), "meta.trainer" (the
// trainer's options), "meta.classes" (one class name per line); plus "meta.step" and "meta.rng" (the
// trainer's generator state). train-diffusion writes it as OUT/checkpoint.npz.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/key_value.hpp>
#include <fergen/core/npy.hpp>
#include <fergen/core/npz.hpp>
#include <fergen/core/rng.hpp>
#include <fergen/core/tensor.hpp>
#include <fergen/diffusion/config.hpp>
#include <fergen/diffusion/trainer_options.hpp>
#include <fergen/models/unet.hpp>
#include <fergen/nn/parameter.hpp>
#include <fergen/nn/parameters.hpp>
#include <fergen/nn/state_dict.hpp>
#include <fergen/optim/adam.hpp>
#include <fergen/optim/ema.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

inline constexpr std::string_view checkpoint_format = "fergen-diffusion-checkpoint 1";
inline constexpr std::string_view checkpoint_file_name = "checkpoint.npz";

// The text members hold key=value lines (core/key_value.hpp).
using entry_list = key_value_list;
using entry_map = key_value_map;

namespace detail {

inline npy_array text_array(std::string_view text) {
  const std::vector<std::uint8_t> bytes(text.begin(), text.end());
  return make_npy(bytes, {static_cast<std::int64_t>(bytes.size())});
}

inline std::string array_text(const npy_array& a, std::string_view origin, std::string_view key) {
  require(a.dtype == dtype::uint8 && a.shape.size() == 1, origin, ": checkpoint entry '", key,
          "' is not text (uint8 of one dimension)");
  return std::string(reinterpret_cast<const char*>(a.bytes.data()), a.bytes.size());
}

inline entry_map parse_entries(std::string_view text, std::string_view origin, std::string_view key) {
  return parse_key_value_text(text, str(origin, ": checkpoint entry '", key, "'"));
}

// "key: a in the checkpoint, b here" for every key whose values differ; empty when they agree. Numbers compare
// by value, so a checkpoint whose doubles an older fergen wrote in another (shorter) form still fits.
inline std::vector<std::string> entry_differences(const entry_map& saved, const entry_list& wanted) {
  std::vector<std::string> out;
  entry_map w(wanted.begin(), wanted.end());
  for (const auto& [k, v] : w) {
    const auto it = saved.find(k);
    if (it == saved.end()) {
      out.push_back(str(k, ": absent in the checkpoint, ", v, " here"));
    } else if (!same_value(it->second, v)) {
      out.push_back(str(k, ": ", it->second, " in the checkpoint, ", v, " here"));
    }
  }
  for (const auto& [k, v] : saved)
    if (!w.contains(k)) out.push_back(str(k, ": ", v, " in the checkpoint, unknown here"));
  return out;
}

}  // namespace detail

// A checkpoint path as users give it: the --out folder of train-diffusion or the .npz itself.
inline std::filesystem::path checkpoint_path(const std::filesystem::path& given) {
  std::error_code ec;
  if (std::filesystem::is_directory(given, ec)) return given / checkpoint_file_name;
  return given;
}

// A checkpoint read from disk and checked to be one.
struct checkpoint {
  std::string origin;       // the file
  std::string model_type;   // "unet"
  entry_map model;          // the network's configuration
  diffusion_config process;
  entry_map trainer;        // the trainer's options
  std::vector<std::string> class_names;
  std::int64_t step = 0;
  generator::state rng{};
  npz_archive arrays;

  // The arrays under "<prefix>." with the prefix removed ("ema" -> the averaged weights by parameter name).
  npz_archive section(std::string_view prefix) const {
    npz_archive out;
    const std::string p = std::string(prefix) + ".";
    for (const auto& [k, v] : arrays)
      if (k.starts_with(p)) out.emplace(k.substr(p.size()), v);
    return out;
  }

  // Fails, listing every difference, unless the checkpoint was written for this kind of network with this
  // configuration and this diffusion process: a checkpoint of another architecture is rejected before any
  // weight is touched.
  void require_fits(std::string_view type, const entry_list& model_config, const diffusion_config& wanted) const {
    require(model_type == type, origin, ": the checkpoint holds a '", model_type, "' network, not a '", type, "'");
    std::vector<std::string> d = detail::entry_differences(model, model_config);
    const entry_list saved_process = process.entries();
    const std::vector<std::string> p =
        detail::entry_differences(entry_map(saved_process.begin(), saved_process.end()), wanted.entries());
    d.insert(d.end(), p.begin(), p.end());
    if (d.empty()) return;
    std::string list;
    for (const auto& line : d) list += "\n  " + line;
    fail(origin, ": the checkpoint was written for another network or diffusion process (", d.size(), " difference",
         d.size() == 1 ? "" : "s", "):", list);
  }
};

// Reads and checks a checkpoint; a file that is not one (another program's weights, a missing file) is an
// error that says what it is.
inline checkpoint read_checkpoint(const std::filesystem::path& given) {
  const std::filesystem::path file = checkpoint_path(given);
  std::error_code ec;
  require(std::filesystem::exists(file, ec), given.string(), ": no such checkpoint (give the --out folder of ",
          "train-diffusion or its ", checkpoint_file_name, ")");
  checkpoint c;
  c.origin = file.string();
  c.arrays = read_npz(file);
  auto text = [&](const char* key) {
    const auto it = c.arrays.find(key);
    if (it == c.arrays.end()) {
      std::string some;
      std::size_t shown = 0;
      for (const auto& [k, v] : c.arrays)
        if (shown++ < 3) some += (some.empty() ? "'" : ", '") + k + "'";
      fail(c.origin, ": not a fergen diffusion checkpoint (no '", key, "' entry; it holds ", c.arrays.size(), " arrays",
           some.empty() ? std::string() : ", such as " + some, ")");
    }
    return detail::array_text(it->second, c.origin, key);
  };
  const std::string format = text("meta.format");
  require(format == checkpoint_format, c.origin, ": checkpoint format '", format, "' is not '", checkpoint_format, "'");
  c.model_type = text("meta.model_type");
  c.model = detail::parse_entries(text("meta.model"), c.origin, "meta.model");
  c.process = diffusion_config::from_entries(detail::parse_entries(text("meta.process"), c.origin, "meta.process"), c.origin);
  c.trainer = detail::parse_entries(text("meta.trainer"), c.origin, "meta.trainer");
  const std::string classes = text("meta.classes");
  for (std::size_t start = 0; start < classes.size();) {
    const std::size_t end = std::min(classes.find('\n', start), classes.size());
    c.class_names.push_back(classes.substr(start, end - start));
    start = end + 1;
  }
  auto integers = [&](const char* key, std::size_t count) {
    const auto it = c.arrays.find(key);
    require(it != c.arrays.end(), c.origin, ": checkpoint has no '", key, "'");
    const auto v = it->second.values<std::uint64_t>();
    require(v.size() == count, c.origin, ": checkpoint entry '", key, "' holds ", v.size(), " values, expected ", count);
    return v;
  };
  c.step = static_cast<std::int64_t>(integers("meta.step", 1)[0]);
  const auto rng = integers("meta.rng", 3);
  c.rng = {rng[0], rng[1], rng[2]};
  return c;
}

// What a checkpoint holds of a training run, by reference into the diffusion::trainer that owns it: weights,
// their average, the optimiser's state, the step and the trainer's generator, with the configuration they
// were made under. The trainer's save() and load() hand it to the two functions below.
template <class Model>
struct training_state {
  Model& model;
  optim::adam<typename Model::backend>& optimizer;
  optim::ema<typename Model::backend>& ema;
  const diffusion_config& process;
  const trainer_options& options;
  std::vector<std::string>& class_names;
  std::int64_t& step;
  generator& rng;
};

// Writes the run's whole state to file (atomically: a crash during the write leaves the previous checkpoint
// intact).
template <class Model>
void save_checkpoint(const std::filesystem::path& file, const training_state<Model>& run) {
  using backend = typename Model::backend;
  using T = typename backend::value_type;
  npz_archive a = nn::state_dict(run.model);
  npz_archive out;
  for (auto& [k, v] : a) out.emplace("model." + k, std::move(v));
  auto put_tensor = [&](const std::string& key, const tensor<backend>& t) {
    std::vector<T> values(static_cast<std::size_t>(t.size()));
    t.copy_to(values);
    const shape s = t.shape();
    out.emplace(key, make_npy(values, {s.n, s.c, s.h, s.w}));
  };
  auto put_integer = [&](const std::string& key, std::int64_t v) {
    out.emplace(key, make_npy(std::vector<std::int64_t>{v}, {1}));
  };
  // EMA averages in the parameters' own (PyTorch) shapes, so "ema.*" loads into a network as weights.
  nn::for_each_parameter(run.model, [&](std::string_view name, nn::parameter<backend>& p) {
    const tensor<backend>* avg = run.ema.average(name);
    std::vector<T> values(static_cast<std::size_t>(avg->size()));
    avg->copy_to(values);
    out.emplace("ema." + std::string(name), make_npy(values, p.dims.extents));
  });
  put_integer("meta.ema_updates", run.ema.updates());
  run.optimizer.visit_state([&](const std::string& name, auto& item) {
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(item)>, std::int64_t>) {
      put_integer(name == "steps" ? "meta.optim_steps" : "optim." + name, item);
    } else {
      put_tensor("optim." + name, item);
    }
  });
  out.emplace("meta.format", detail::text_array(checkpoint_format));
  out.emplace("meta.model_type", detail::text_array(std::string(Model::model_type)));
  out.emplace("meta.model", detail::text_array(key_value_text(run.model.config().entries())));
  out.emplace("meta.process", detail::text_array(key_value_text(run.process.entries())));
  out.emplace("meta.trainer", detail::text_array(key_value_text(run.options.entries())));
  std::string classes;
  for (std::size_t i = 0; i < run.class_names.size(); ++i) classes += (i ? "\n" : "") + run.class_names[i];
  out.emplace("meta.classes", detail::text_array(classes));
  out.emplace("meta.step", make_npy(std::vector<std::uint64_t>{static_cast<std::uint64_t>(run.step)}, {1}));
  const generator::state r = run.rng.save();
  out.emplace("meta.rng", make_npy(std::vector<std::uint64_t>{r.seed, r.streams_taken, r.words_used}, {3}));
  std::error_code ec;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  write_npz(file, out);
}

// Restores a run from a checkpoint that save_checkpoint wrote for the same network and process; anything else
// is an error listing the differences, raised before any state changes.
template <class Model>
void load_checkpoint(const std::filesystem::path& given, const training_state<Model>& run) {
  using backend = typename Model::backend;
  const checkpoint c = read_checkpoint(given);
  c.require_fits(std::string(Model::model_type), run.model.config().entries(), run.process);
  require(c.class_names.size() == run.class_names.size() || run.class_names.empty(), c.origin, ": the checkpoint has ",
          c.class_names.size(), " classes, this run ", run.class_names.size());
  if (!run.class_names.empty() && c.class_names != run.class_names) {
    std::string a, b;
    for (const auto& s : c.class_names) a += (a.empty() ? "" : ", ") + s;
    for (const auto& s : run.class_names) b += (b.empty() ? "" : ", ") + s;
    fail(c.origin, ": the checkpoint's classes (", a, ") are not this run's (", b, ")");
  }
  // Everything is checked (strictly, by name and shape) before anything is assigned.
  Model staged = run.model;
  nn::load_state_dict(staged, c.section("model"), c.origin + " (weights)");
  Model averaged = run.model;
  nn::load_state_dict(averaged, c.section("ema"), c.origin + " (averaged weights)");
  // A fresh optimiser: copies of one share their state tensors (tensor copies share storage).
  optim::adam<backend> opt(run.optimizer.options());
  opt.create_state(staged);
  const npz_archive optim_arrays = c.section("optim");
  auto integer = [&](const std::string& key) {
    const auto it = c.arrays.find(key);
    require(it != c.arrays.end(), c.origin, ": checkpoint has no '", key, "'");
    return it->second.values<std::int64_t>().at(0);
  };
  opt.visit_state([&](const std::string& name, auto& item) {
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(item)>, std::int64_t>) {
      item = name == "steps" ? integer("meta.optim_steps") : integer("optim." + name);
    } else {
      const auto it = optim_arrays.find(name);
      require(it != optim_arrays.end(), c.origin, ": checkpoint has no optimiser state 'optim.", name, "'");
      const auto values = it->second.values<typename backend::value_type>();
      require(static_cast<std::int64_t>(values.size()) == item.size(), c.origin, ": optimiser state 'optim.", name,
              "' holds ", values.size(), " values, the parameter ", item.size());
      item.copy_from(values);
    }
  });
  optim::ema<backend> e(averaged, run.options.ema_decay, run.options.ema_warmup);
  e.visit_state([&](const std::string&, auto& item) {
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(item)>, std::int64_t>) item = integer("meta.ema_updates");
  });
  run.model = std::move(staged);
  run.optimizer = std::move(opt);
  run.ema = std::move(e);
  run.step = c.step;
  run.rng.restore(c.rng);
  if (run.class_names.empty()) run.class_names = c.class_names;
}

// A trained UNet with what sampling needs. ema = true takes the averaged weights (what samples should come
// from), false the last iterate.
template <class B>
struct trained_unet {
  models::unet<B> model;
  diffusion_config process;
  std::vector<std::string> class_names;
  entry_map trainer;
  std::int64_t step = 0;
};

template <class B>
trained_unet<B> load_unet(const std::filesystem::path& given, bool ema = true) {
  checkpoint c = read_checkpoint(given);
  require(c.model_type == "unet", c.origin, ": the checkpoint holds a '", c.model_type, "' network, not a UNet");
  models::unet_config config = models::unet_config::from_entries(c.model, c.origin);
  require(config.classes == 0 || static_cast<std::int64_t>(c.class_names.size()) == config.classes, c.origin, ": ",
          c.class_names.size(), " class names for a network of ", config.classes, " classes");
  trained_unet<B> t{models::unet<B>(config), c.process, c.class_names, c.trainer, c.step};
  nn::load_state_dict(t.model, c.section(ema ? "ema" : "model"), c.origin + (ema ? " (averaged weights)" : " (weights)"));
  return t;
}

}  // namespace diffusion
FERGEN_END_NAMESPACE
