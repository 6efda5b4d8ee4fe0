// fergen/diffusion/checkpoint.hpp: the file a diffusion training run writes and resumes from, and loading a
// trained network from it.
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
#include <fergen/diffusion/config.hpp>
#include <fergen/models/unet.hpp>
#include <fergen/nn/state_dict.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
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
