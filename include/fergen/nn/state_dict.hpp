// fergen/nn/state_dict.hpp: a network's weights as an .npz keyed by PyTorch-style names, saved and loaded.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/npy.hpp>
#include <fergen/core/npz.hpp>
#include <fergen/nn/parameters.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// What a load did. In strict mode (the default) a load either takes every key or throws a fergen::error
// listing all the problems, leaving the network untouched; in lenient mode it loads what fits and lists the rest.
// The one exception to "every key" is state that no computation reads (nn::buffer::zero_when_absent): a file
// without it loads, and the report lists it as set to 0, as PyTorch loads a BatchNorm without its counter.
struct load_report {
  std::vector<std::string> loaded;
  std::vector<std::string> missing;     // in the network, not in the file
  std::vector<std::string> unexpected;  // in the file, not in the network
  std::vector<std::string> mismatched;  // in both, with different shapes or an unusable dtype (explained)
  std::vector<std::string> zeroed;      // not in the file and set to 0: state no computation reads
                                        // (nn::buffer::zero_when_absent, BatchNorm's num_batches_tracked)

  bool complete() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }

  std::string summary() const {
    std::ostringstream out;
    out << loaded.size() << " loaded";
    auto list = [&](const char* what, const std::vector<std::string>& names) {
      if (names.empty()) return;
      out << "; " << names.size() << ' ' << what << ':';
      for (const auto& n : names) out << "\n  " << n;
    };
    list("missing from the file", missing);
    list("unexpected in the file", unexpected);
    list("mismatched", mismatched);
    list("not in the file, set to 0", zeroed);
    return out.str();
  }
};

struct load_options {
  bool strict = true;
};

// The network's parameters and buffers as npy arrays with PyTorch's shapes: parameters in the backend's
// float type, counters (num_batches_tracked) as int64, as torch.save(model.state_dict()) holds them.
template <class Net>
npz_archive state_dict(Net& net) {
  using T = typename Net::backend::value_type;
  npz_archive archive;
  net.visit_parameters([&](std::string_view name, auto& item) {
    std::vector<T> values(static_cast<std::size_t>(item.value.size()));
    item.value.copy_to(values);
    npy_array array;
    if constexpr (requires { item.integral; }) {
      if (item.integral) {
        std::vector<std::int64_t> counts(values.begin(), values.end());
        array = make_npy<std::int64_t>(counts, item.dims.extents);
      } else {
        array = make_npy<T>(values, item.dims.extents);
      }
    } else {
      array = make_npy<T>(values, item.dims.extents);
    }
    require(archive.emplace(std::string(name), std::move(array)).second, "state_dict: two entries are named '", name,
            "'; name the slots of the composite apart (nn::named)");
  });
  return archive;
}

template <class Net>
void save_weights(Net& net, const std::filesystem::path& file, npz_compression compression = npz_compression::deflate) {
  write_npz(file, state_dict(net), compression);
}

// Loads an archive into the network. `origin` names the source in messages (the file path).
template <class Net>
load_report load_state_dict(Net& net, const npz_archive& archive, std::string_view origin, load_options options = {}) {
  using T = typename Net::backend::value_type;
  load_report report;
  std::set<std::string> seen;
  struct pending {
    std::string name;
    std::vector<T> values;
  };
  std::vector<pending> accepted;
  net.visit_parameters([&](std::string_view name_view, auto& item) {
    const std::string name(name_view);
    seen.insert(name);
    const auto it = archive.find(name);
    bool zero_when_absent = false;
    if constexpr (requires { item.zero_when_absent; }) zero_when_absent = item.zero_when_absent;
    if (it == archive.end()) {
      if (zero_when_absent) {
        accepted.push_back({name, std::vector<T>(static_cast<std::size_t>(item.value.size()), T(0))});
        report.zeroed.push_back(name);
      } else {
        report.missing.push_back(str(name, " ", item.dims));
      }
      return;
    }
    const npy_array& array = it->second;
    if (array.shape != item.dims.extents) {
      report.mismatched.push_back(str(name, ": file has ", dims(array.shape), ", the network ", item.dims));
      return;
    }
    bool integral = false;
    if constexpr (requires { item.integral; }) integral = item.integral;
    const bool floating = array.dtype == dtype::float32 || array.dtype == dtype::float64;
    const bool whole = array.dtype == dtype::int64 || array.dtype == dtype::int32;
    if (!(floating || (integral && whole))) {
      report.mismatched.push_back(str(name, ": dtype '", to_string(array.dtype), "' where ",
                                      integral ? "an integer or float" : "float32 or float64", " is needed"));
      return;
    }
    accepted.push_back({name, array.template values<T>()});
  });
  for (const auto& [name, array] : archive)
    if (!seen.contains(name)) report.unexpected.push_back(str(name, " ", dims(array.shape)));
  if (options.strict && !report.complete())
    fail(origin, ": the weights do not fit the network (strict loading; nothing was loaded): ", report.summary());

  std::size_t next = 0;  // `accepted` is in visit order, so a second walk assigns without lookups
  const std::set<std::string> zeroed(report.zeroed.begin(), report.zeroed.end());
  net.visit_parameters([&](std::string_view name, auto& item) {
    if (next < accepted.size() && accepted[next].name == name) {
      item.value.copy_from(accepted[next].values);
      if (!zeroed.contains(accepted[next].name)) report.loaded.push_back(std::move(accepted[next].name));
      ++next;
    }
  });
  return report;
}

template <class Net>
load_report load_weights(Net& net, const std::filesystem::path& file, load_options options = {}) {
  return load_state_dict(net, read_npz(file), file.string(), options);
}

}  // namespace nn
FERGEN_END_NAMESPACE
