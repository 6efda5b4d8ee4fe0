// fergen/models/pretrained.hpp: loading a backbone's weights (ImageNet's, say) into a network with any head.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/npz.hpp>
#include <fergen/models/classifier.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/parameters.hpp>
#include <fergen/nn/state_dict.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace models {

// What load_backbone_weights did beyond the strict load of everything else.
struct backbone_load_report {
  nn::load_report weights;               // the keys loaded from the file
  std::vector<std::string> initialised;  // the network's, not taken from the file (why, with shapes)
  std::vector<std::string> skipped;      // the file's, which the network does not have (an auxiliary head)

  std::string summary() const {
    std::ostringstream out;
    out << weights.loaded.size() << " loaded";
    if (!initialised.empty()) {
      out << "; " << initialised.size() << " initialised:";
      for (const auto& s : initialised) out << "\n  " << s;
    }
    if (!skipped.empty()) {
      out << "; " << skipped.size() << " in the file and not in the network, skipped:";
      for (const auto& s : skipped) out << "\n  " << s;
    }
    return out.str();
  }
};

struct backbone_load_options {
  std::uint64_t head_seed = 0;  // initialises what is not taken from the file
};

namespace detail {

inline bool under(std::string_view name, std::string_view prefix) {
  return name == prefix || (name.size() > prefix.size() && name.starts_with(prefix) && name[prefix.size()] == '.');
}

// A network seen through a filter on parameter names: what nn::load_state_dict and nn::initialize need.
template <class Net, class Keep>
struct parameter_view {
  using backend = typename Net::backend;
  Net& net;
  Keep keep;
  template <class V>
  void visit_parameters(V&& visit) {
    net.visit_parameters([&](std::string_view name, auto& item) {
      if (keep(name)) visit(name, item);
    });
  }
};
template <class Net, class Keep>
parameter_view(Net&, Keep) -> parameter_view<Net, Keep>;

}  // namespace detail

// Loads a weight file saved from the same architecture (torchvision's state_dict exported by
// examples/export_torchvision_weights.py, or fergen's save_weights), whatever its number of classes:
//   * every parameter and buffer of the body must be in the file with its shape, and the file may hold
//     nothing else: any missing, unexpected or mis-shaped key is an error that names it, and then nothing
//     is loaded (strict, as nn::load_weights);
//   * the head (and an auxiliary head's classifier) loads when its shapes match; otherwise it is
//     initialised by the family's rule from options.head_seed and reported, as for ImageNet's 1000-class
//     weights in a 7-class network;
//   * optional parts (Inception-V3's AuxLogits) load when both have them, are initialised when only the
//     network has them, and are skipped when only the file has them; each case is reported.
// The 1-channel (gray) networks hold the RGB weights, so the same files load into them.
// The archive is taken by value: its arrays move into the network's load, never copied (VGG-16's are 528 MiB).
template <class Net>
backbone_load_report load_backbone_state(Net& net, npz_archive archive, std::string_view origin,
                                         const backbone_load_options& options = {}) {
  const std::vector<std::string> heads = net.class_dependent_prefixes();
  const std::vector<std::string> optional = net.optional_prefixes();
  auto group_of = [](std::string_view name, const std::vector<std::string>& prefixes) -> std::string {
    for (const auto& p : prefixes)
      if (detail::under(name, p)) return p;
    return {};
  };
  auto file_has_under = [&](const std::string& prefix) {
    for (const auto& [key, array] : archive)
      if (detail::under(key, prefix)) return true;
    return false;
  };

  // Which groups of the network come from the file: a head group whose every entry is there with its shape;
  // an optional group that the file has at all (then strictly).
  std::map<std::string, bool> head_fits, optional_present;
  std::set<std::string> net_optional;
  for (const auto& h : heads) head_fits[h] = true;
  for (const auto& o : optional) optional_present[o] = file_has_under(o);
  backbone_load_report report;
  net.visit_parameters([&](std::string_view name, auto& item) {
    if (const std::string o = group_of(name, optional); !o.empty()) net_optional.insert(o);
    const std::string h = group_of(name, heads);
    if (h.empty()) return;
    const auto it = archive.find(std::string(name));
    if (it == archive.end() || it->second.shape != item.dims.extents) head_fits[h] = false;
  });
  auto initialise = [&](std::string_view name) {
    if (const std::string o = group_of(name, optional); !o.empty() && !optional_present[o]) return true;
    const std::string h = group_of(name, heads);
    return !h.empty() && !head_fits[h];
  };

  // The rest loads strictly: a view of the network without the parts to initialise, and the file without
  // the keys those parts would have taken and without optional parts the network lacks.
  npz_archive kept;
  for (auto it = archive.begin(); it != archive.end();) {
    const std::string& key = it->first;
    const std::string o = group_of(key, optional);
    if (!o.empty() && !net_optional.contains(o)) {
      report.skipped.push_back(str(key, " ", nn::dims(it->second.shape)));
      ++it;
      continue;
    }
    const std::string h = group_of(key, heads);
    if (!h.empty() && !head_fits[h]) {
      ++it;
      continue;
    }
    kept.insert(archive.extract(it++));
  }
  detail::parameter_view loadable{net, [&](std::string_view name) { return !initialise(name); }};
  report.weights = nn::load_state_dict(loadable, kept, origin);

  // Only now (the strict load passed) are the other parts initialised.
  detail::parameter_view fresh{net, [&](std::string_view name) { return initialise(name); }};
  nn::initialize(fresh, options.head_seed);
  fresh.visit_parameters([&](std::string_view name, auto& item) {
    const auto it = archive.find(std::string(name));
    report.initialised.push_back(it == archive.end()
                                     ? str(name, " ", item.dims, ": not in the file")
                                     : str(name, " ", item.dims, ": the file has ", nn::dims(it->second.shape)));
  });
  return report;
}

template <class Net>
backbone_load_report load_backbone_weights(Net& net, const std::filesystem::path& file,
                                           const backbone_load_options& options = {}) {
  return load_backbone_state(net, read_npz(file), file.string(), options);
}

}  // namespace models
FERGEN_END_NAMESPACE
