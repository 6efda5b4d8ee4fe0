// fergen/nn/freeze.hpp: freezing parameters, by name or by the study's "first fraction of layers".
#pragma once

#include <fergen/nn/parameters.hpp>

#include <cmath>
#include <string>
#include <string_view>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// A learnable layer: the name its parameters share ("layer1.0.conv1") and how many values they hold.
struct learnable_layer {
  std::string name;
  std::vector<std::string> parameters;
  std::int64_t values = 0;
};

// The layers that own parameters, in forward order: consecutive parameters whose names share everything
// before the last dot ("features.0.weight", "features.0.bias") belong to one layer, as in PyTorch, where
// such a layer is a module with parameters of its own.
template <class Net>
std::vector<learnable_layer> learnable_layers(Net& net) {
  std::vector<learnable_layer> layers;
  for_each_parameter(net, [&](std::string_view name, auto& p) {
    const auto dot = name.rfind('.');
    const std::string owner(dot == std::string_view::npos ? std::string_view{} : name.substr(0, dot));
    if (layers.empty() || layers.back().name != owner) layers.push_back({owner, {}, 0});
    layers.back().parameters.emplace_back(name);
    layers.back().values += p.dims.count();
  });
  return layers;
}

// Freezes (or unfreezes) every parameter whose name satisfies the predicate; returns how many changed.
template <class Net, class Predicate>
std::int64_t set_frozen(Net& net, bool frozen, Predicate&& select) {
  std::int64_t changed = 0;
  for_each_parameter(net, [&](std::string_view name, auto& p) {
    if (select(name) && p.frozen != frozen) {
      p.frozen = frozen;
      ++changed;
    }
  });
  return changed;
}

template <class Net>
void unfreeze_all(Net& net) {
  set_frozen(net, false, [](std::string_view) { return true; });
}

// The study's ablation: the first floor(fraction * L) of the L learnable layers, in forward order, are
// frozen (Keras' `for layer in model.layers[:int(0.3 * n)]: layer.trainable = False`, counted over layers
// that have parameters). Returns the number of layers frozen.
template <class Net>
std::int64_t freeze_first_fraction(Net& net, double fraction) {
  require(fraction >= 0.0 && fraction <= 1.0, "freeze_first_fraction: fraction ", fraction,
          " is outside [0, 1]");
  const std::vector<learnable_layer> layers = learnable_layers(net);
  const auto count = static_cast<std::int64_t>(std::floor(fraction * static_cast<double>(layers.size()) + 1e-9));
  // Layers are runs of consecutive parameters, so the first `count` layers own the first `owned` of them.
  std::size_t owned = 0;
  for (std::int64_t i = 0; i < count; ++i) owned += layers[static_cast<std::size_t>(i)].parameters.size();
  std::size_t index = 0;
  for_each_parameter(net, [&](std::string_view, auto& p) {
    if (index++ < owned) p.frozen = true;
  });
  return count;
}

}  // namespace nn
FERGEN_END_NAMESPACE
