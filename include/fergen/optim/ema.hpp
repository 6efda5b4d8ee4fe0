// fergen/optim/ema.hpp: an exponential moving average of a network's weights, for diffusion sampling.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/optimizer_steps.hpp>
#include <fergen/backend/optimizer_steps.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/shape.hpp>
#include <fergen/core/tensor.hpp>
#include <fergen/nn/parameter.hpp>
#include <fergen/nn/parameters.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace optim {

// Diffusion models sample from averaged weights (DDPM: decay 0.9999): the average of the last few thousand
// iterates denoises much better than the last iterate. After each optimiser step, update(ctx, net) does
//   shadow = d * shadow + (1 - d) * param
// for every parameter (frozen ones too: they do not change, so their average stays equal to them), and
// copies the buffers (BatchNorm running statistics are not averaged, as in the common implementations).
//
// Warm-up: with decay 0.9999 the average would remember the random initial weights for ~10^4 updates,
// longer than a short CPU run. With warm-up on, update k (k = 0, 1, ...) uses
//   d_k = min(decay, (1 + k) / (10 + k))
// which is tf.train.ExponentialMovingAverage's num_updates rule (num_updates = the global step before the
// update), as used by the DDPM/DDIM code bases; CompVis' LitEma uses the same formula with k counted from 1.
// With warm-up off, every update uses exactly `decay`.
template <class B>
class ema {
 public:
  using backend = B;
  using tensor_type = tensor<B>;

  // Starts the average at the network's current weights.
  template <class Net>
  ema(Net& net, double decay, bool warmup = true) : decay_(decay), warmup_(warmup) {
    static_assert(std::same_as<typename Net::backend, B>, "ema<B>: the network runs on another backend");
    require(decay >= 0 && decay <= 1, "ema: decay = ", decay, " is outside [0, 1]");
    nn::for_each_parameter(net, [&](std::string_view name, nn::parameter<B>& p) {
      add(name, p.value, false);
    });
    nn::for_each_buffer(net, [&](std::string_view name, nn::buffer<B>& b) { add(name, b.value, true); });
  }

  // Folds the network's current weights into the average (call it after each optimiser step).
  template <class Net>
  void update(context<B>& ctx, Net& net) {
    check_matches(net, "update");
    const double d = current_decay();
    nn::for_each_parameter(net, [&](std::string_view name, nn::parameter<B>& p) {
      ops::optimizer_steps<B>::ema_step(ctx, average_.find(name)->second.value, p.value, d);
    });
    nn::for_each_buffer(net, [&](std::string_view name, nn::buffer<B>& b) {
      ops::optimizer_steps<B>::copy(ctx, average_.find(name)->second.value, b.value);
    });
    ++updates_;
  }

  // Loads the averaged weights and buffers into a network of the same architecture (the one averaged, to
  // sample from, or a copy of it). Names, kinds and shapes must match; the error lists every difference.
  // The network's tensors are replaced by copies of the averages (its gradients are left alone).
  template <class Net>
  void copy_to(Net& net) const {
    check_matches(net, "copy_to");
    nn::for_each_parameter(net, [&](std::string_view name, nn::parameter<B>& p) {
      p.value = average_.find(name)->second.value.clone();
    });
    nn::for_each_buffer(net, [&](std::string_view name, nn::buffer<B>& b) {
      b.value = average_.find(name)->second.value.clone();
    });
  }

  // Number of update() calls.
  std::int64_t updates() const { return updates_; }
  double decay() const { return decay_; }
  bool warmup() const { return warmup_; }

  // The decay the next update() will use: min(decay, (1 + k) / (10 + k)) after k updates with warm-up,
  // else decay.
  double current_decay() const {
    if (!warmup_) return decay_;
    const auto k = static_cast<double>(updates_);
    return std::min(decay_, (1.0 + k) / (10.0 + k));
  }

  // The averaged tensor of a parameter or buffer, by name (null when the network had none of that name).
  const tensor_type* average(std::string_view name) const {
    const auto it = average_.find(name);
    return it == average_.end() ? nullptr : &it->second.value;
  }

  // v(name, tensor<B>&) for every average, named as the parameter or buffer it averages, in name order,
  // and v("updates", std::int64_t&) for the update count (it sets the warm-up decay). An ema built from
  // the same network has every tensor a checkpoint needs: restore by copying into the ones visited.
  template <class V>
  void visit_state(V&& v) {
    for (auto& [name, a] : average_) v(name, a.value);
    v(std::string("updates"), updates_);
  }

 private:
  struct entry {
    tensor_type value;
    bool is_buffer = false;
  };

  void add(std::string_view name, const tensor_type& value, bool is_buffer) {
    const bool added = average_.emplace(std::string(name), entry{value.clone(), is_buffer}).second;
    require(added, "ema: the network has two parameters or buffers named '", name, "'");
  }

  // Every parameter and buffer of net has an average of the same kind and shape, and every average has one.
  template <class Net>
  void check_matches(Net& net, const char* operation) const {
    static_assert(std::same_as<typename Net::backend, B>, "ema<B>: the network runs on another backend");
    std::vector<std::string> problems;
    std::set<std::string, std::less<>> seen;
    auto compare = [&](std::string_view name, const tensor_type& value, bool is_buffer) {
      seen.emplace(name);
      const auto it = average_.find(name);
      const char* kind = is_buffer ? "buffer" : "parameter";
      if (it == average_.end()) {
        problems.push_back(str(kind, " '", name, "' is not averaged"));
      } else if (it->second.is_buffer != is_buffer) {
        problems.push_back(str("'", name, "' is a ", kind, " in the network but a ",
                               it->second.is_buffer ? "buffer" : "parameter", " in the average"));
      } else if (it->second.value.shape() != value.shape()) {
        problems.push_back(str(kind, " '", name, "' is ", value.shape(), " in the network but ",
                               it->second.value.shape(), " in the average"));
      }
    };
    nn::for_each_parameter(net, [&](std::string_view name, nn::parameter<B>& p) { compare(name, p.value, false); });
    nn::for_each_buffer(net, [&](std::string_view name, nn::buffer<B>& b) { compare(name, b.value, true); });
    for (const auto& [name, a] : average_)
      if (!seen.contains(name))
        problems.push_back(str(a.is_buffer ? "buffer" : "parameter", " '", name, "' is missing from the network"));
    if (problems.empty()) return;
    std::string list;
    for (const auto& p : problems) list += "\n  " + p;
    fail("ema::", operation, ": the network does not match the averaged weights (", problems.size(),
         " difference", problems.size() == 1 ? "" : "s", "):", list);
  }

  double decay_;
  bool warmup_;
  std::map<std::string, entry, std::less<>> average_;
  std::int64_t updates_ = 0;
};

template <class Net>
ema(Net&, double) -> ema<typename Net::backend>;
template <class Net>
ema(Net&, double, bool) -> ema<typename Net::backend>;

}  // namespace optim
FERGEN_END_NAMESPACE
