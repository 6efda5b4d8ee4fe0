// fergen/nn/parameters.hpp: walking a network's parameters and buffers by name.
#pragma once

#include <fergen/nn/layer.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// f(name, parameter<B>&) for every learnable parameter, in forward order, with PyTorch's dotted names.
template <class Net, class F>
void for_each_parameter(Net& net, F&& f) {
  using B = typename Net::backend;
  net.visit_parameters([&](std::string_view name, auto& item) {
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(item)>, parameter<B>>) f(name, item);
  });
}

// f(name, buffer<B>&) for every buffer (BatchNorm running statistics and counters).
template <class Net, class F>
void for_each_buffer(Net& net, F&& f) {
  using B = typename Net::backend;
  net.visit_parameters([&](std::string_view name, auto& item) {
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(item)>, buffer<B>>) f(name, item);
  });
}

template <class Net>
std::vector<std::string> parameter_names(Net& net) {
  std::vector<std::string> names;
  for_each_parameter(net, [&](std::string_view name, auto&) { names.emplace_back(name); });
  return names;
}

// Number of learnable values (trainable_only: leave frozen parameters out).
template <class Net>
std::int64_t parameter_count(Net& net, bool trainable_only = false) {
  std::int64_t count = 0;
  for_each_parameter(net, [&](std::string_view, auto& p) {
    if (!trainable_only || !p.frozen) count += p.dims.count();
  });
  return count;
}

// The parameter called `name` ("layer1.0.conv1.weight"). An unknown name is an error that lists the names
// the network does have, so a typo or a wrong prefix shows at once.
template <class Net>
parameter<typename Net::backend>& find_parameter(Net& net, std::string_view name) {
  parameter<typename Net::backend>* found = nullptr;
  std::vector<std::string> names;
  for_each_parameter(net, [&](std::string_view n, auto& p) {
    if (n == name) found = &p;
    names.emplace_back(n);
  });
  if (!found) {
    std::string known;
    for (std::size_t i = 0; i < names.size() && i < 12; ++i) known += (i ? ", " : "") + names[i];
    if (names.size() > 12) known += str(", ... (", names.size(), " in all)");
    fail("no parameter named '", name, "'; the network has: ", known.empty() ? "none" : known);
  }
  return *found;
}

// Backward accumulates into gradients; clear them before each step.
template <class Net>
void zero_grad(Net& net) {
  for_each_parameter(net, [](std::string_view, auto& p) { p.grad.fill(0); });
}

}  // namespace nn
FERGEN_END_NAMESPACE
