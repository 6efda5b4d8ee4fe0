// fergen/optim/adam.hpp: Adam and AdamW (torch.optim.Adam, torch.optim.AdamW), one implementation.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/optimizer_steps.hpp>
#include <fergen/backend/optimizer_steps.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/shape.hpp>
#include <fergen/core/tensor.hpp>
#include <fergen/nn/parameter.hpp>
#include <fergen/nn/parameters.hpp>
#include <fergen/optim/parameter_state.hpp>

#include <cmath>
#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace optim {

// torch.optim.Adam's options and defaults. With decoupled_weight_decay the optimiser is AdamW
// (Loshchilov & Hutter): the parameter shrinks by lr * weight_decay instead of the gradient growing by
// weight_decay * param. torch.optim.AdamW defaults to weight_decay = 1e-2; these options keep 0 for both
// and adamw() does not change it: state the decay you want.
struct adam_options {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool decoupled_weight_decay = false;  // true = AdamW

  const char* name() const { return decoupled_weight_decay ? "adamw" : "adam"; }

  // torch's rules, plus finiteness.
  void validate() const {
    require(std::isfinite(lr) && lr >= 0, name(), ": option lr = ", lr, " must be a finite value >= 0");
    require(beta1 >= 0 && beta1 < 1, name(), ": option beta1 = ", beta1, " must be in [0, 1)");
    require(beta2 >= 0 && beta2 < 1, name(), ": option beta2 = ", beta2, " must be in [0, 1)");
    require(std::isfinite(eps) && eps >= 0, name(), ": option eps = ", eps, " must be a finite value >= 0");
    require(std::isfinite(weight_decay) && weight_decay >= 0, name(), ": option weight_decay = ", weight_decay,
            " must be a finite value >= 0");
  }
};

// torch.optim.Adam / AdamW (amsgrad off), one parameter group. Per parameter, with its own step count t:
//   AdamW: param *= 1 - lr * weight_decay         Adam: grad += weight_decay * param
//   m = beta1 m + (1 - beta1) grad,  v = beta2 v + (1 - beta2) grad^2
//   param -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// Step counts are per parameter, as in torch: a parameter frozen for a while (torch: grad None) keeps its
// count and its moments, and resumes its own bias correction when unfrozen. Frozen parameters get no state.
template <class B>
class adam {
 public:
  using backend = B;
  using tensor_type = tensor<B>;

  explicit adam(adam_options options = {}) : options_(options) { options_.validate(); }

  // One update of every parameter that is not frozen. Everything is checked before anything changes, so
  // an error leaves the parameters and the state as they were.
  template <class Net>
  void step(context<B>& ctx, Net& net) {
    static_assert(std::same_as<typename Net::backend, B>, "adam<B>::step: the network runs on another backend");
    nn::for_each_parameter(net, [&](std::string_view name, nn::parameter<B>& p) {
      if (!p.frozen) state_.check(options_.name(), name, p);
    });
    ops::adam_step_options o{options_.lr,           options_.beta1,
                             options_.beta2,        options_.eps,
                             options_.weight_decay, options_.decoupled_weight_decay};
    nn::for_each_parameter(net, [&](std::string_view name, nn::parameter<B>& p) {
      if (p.frozen) return;
      entry& e = state_.get(name, p.value.shape(), make_entry);
      o.step = e.step + 1;
      ops::optimizer_steps<B>::adam_step(ctx, p.value, p.grad, e.exp_avg, e.exp_avg_sq, o);
      e.step = o.step;
    });
    ++steps_;
  }

  double lr() const { return options_.lr; }
  // Schedules set the learning rate before each step: set_lr(schedule(opt.steps(), base_lr)).
  void set_lr(double value) {
    require(std::isfinite(value) && value >= 0, options_.name(), ": lr = ", value, " must be a finite value >= 0");
    options_.lr = value;
  }
  const adam_options& options() const { return options_; }

  // Number of step() calls (a parameter's own count is "<param>.step" in visit_state).
  std::int64_t steps() const { return steps_; }

  // v(name, tensor<B>&) for "<param>.exp_avg" and "<param>.exp_avg_sq", v(name, std::int64_t&) for
  // "<param>.step" (torch's per-parameter state["step"]) and for the step count "steps". Names come in
  // parameter-name order. Restoring into a fresh optimiser calls create_state(net) first.
  template <class V>
  void visit_state(V&& v) {
    state_.for_each([&](const std::string& name, entry& e) {
      v(name + ".exp_avg", e.exp_avg);
      v(name + ".exp_avg_sq", e.exp_avg_sq);
      v(name + ".step", e.step);
    });
    v(std::string("steps"), steps_);
  }

  // Creates zero state (step 0, which behaves exactly as no state) for every parameter of net that has none,
  // frozen ones included, so that any checkpoint of this network can be restored by visit_state.
  template <class Net>
  void create_state(Net& net) {
    static_assert(std::same_as<typename Net::backend, B>, "adam<B>::create_state: the network runs on another backend");
    nn::for_each_parameter(net, [&](std::string_view name, nn::parameter<B>& p) {
      state_.get(name, p.value.shape(), make_entry);
    });
  }

  // Whether a parameter has state (it has been updated, or create_state made it).
  bool has_state(std::string_view name) const { return state_.contains(name); }

 private:
  struct entry {
    tensor_type exp_avg;
    tensor_type exp_avg_sq;
    std::int64_t step = 0;
  };

  static entry make_entry(const shape& s) { return entry{tensor_type(s), tensor_type(s), 0}; }

  adam_options options_;
  parameter_state<entry> state_;
  std::int64_t steps_ = 0;
};

// AdamW: adam with decoupled weight decay. Only the flag changes: torch.optim.AdamW's default
// weight_decay is 1e-2, adam_options' is 0, so pass the decay explicitly (adamw<B>({.weight_decay = 1e-2})).
template <class B>
adam<B> adamw(adam_options o) {
  o.decoupled_weight_decay = true;
  return adam<B>(o);
}

}  // namespace optim
FERGEN_END_NAMESPACE
