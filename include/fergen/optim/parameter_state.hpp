// fergen/optim/parameter_state.hpp: an optimiser's per-parameter state, keyed by parameter name.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/shape.hpp>
#include <fergen/nn/parameter.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace optim {

// State of one optimiser (momentum buffers, Adam's moments) for each parameter it has updated. Keyed by
// the parameter's name, which is unique in a network, so the state survives rebuilding the network and is
// saved and restored by name. Each entry remembers the shape it was made for: a parameter that changes
// shape afterwards is an error, never silent arithmetic on mismatched buffers. Entry holds the tensors and
// `std::int64_t step`, the parameter's own update count.
template <class Entry>
class parameter_state {
 public:
  // Checks, before any update, that a parameter's gradient matches it and that its state (if any) was
  // made for its shape. `optimiser` names the caller in the message.
  template <class B>
  void check(std::string_view optimiser, std::string_view name, const nn::parameter<B>& p) const {
    require(p.grad.shape() == p.value.shape(), optimiser, ": parameter '", name, "' is ", p.value.shape(),
            " but its gradient is ", p.grad.shape());
    const auto it = entries_.find(name);
    require(it == entries_.end() || it->second.value_shape == p.value.shape(), optimiser, ": parameter '", name,
            "' changed shape from ", it == entries_.end() ? shape{} : it->second.value_shape, " to ", p.value.shape(),
            " since its optimiser state was created");
  }

  // The entry of a parameter, made by make(shape) on first use.
  template <class Make>
  Entry& get(std::string_view name, const shape& s, Make&& make) {
    auto it = entries_.find(name);
    if (it == entries_.end()) it = entries_.emplace(std::string(name), slot{s, make(s)}).first;
    return it->second.entry;
  }

  bool contains(std::string_view name) const { return entries_.find(name) != entries_.end(); }

  // f(name, entry) for every entry, in parameter-name order.
  template <class F>
  void for_each(F&& f) {
    for (auto& [name, s] : entries_) f(name, s.entry);
  }

 private:
  struct slot {
    shape value_shape;
    Entry entry;
  };
  std::map<std::string, slot, std::less<>> entries_;
};

}  // namespace optim
FERGEN_END_NAMESPACE
