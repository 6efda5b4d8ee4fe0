// fergen/optim/sgd.hpp: stochastic gradient descent with momentum, Nesterov and weight decay (torch.optim.SGD).
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

// torch.optim.SGD's options and defaults (torch requires lr; 0.01 is the Keras default).
struct sgd_options {
  double lr = 0.01;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;  // L2 penalty added to the gradient: grad + weight_decay * param
  bool nesterov = false;

  // torch's rules, plus finiteness: a NaN option would silently turn every parameter into NaN.
  void validate() const {
    require(std::isfinite(lr) && lr >= 0, "sgd: option lr = ", lr, " must be a finite value >= 0");
    require(std::isfinite(momentum) && momentum >= 0, "sgd: option momentum = ", momentum,
            " must be a finite value >= 0");
    require(std::isfinite(dampening), "sgd: option dampening = ", dampening, " must be finite");
    require(std::isfinite(weight_decay) && weight_decay >= 0, "sgd: option weight_decay = ", weight_decay,
            " must be a finite value >= 0");
    require(!nesterov || (momentum > 0 && dampening == 0), "sgd: option nesterov needs momentum > 0 and dampening ",
            "= 0 (got momentum = ", momentum, ", dampening = ", dampening, ")");
  }
};

// torch.optim.SGD, one parameter group:
//   d = grad + weight_decay * param
//   buf = d on a parameter's first update (no dampening), else momentum * buf + (1 - dampening) * d
//   d = nesterov ? d + momentum * buf : buf          (when momentum != 0)
//   param -= lr * d
// Frozen parameters are skipped and get no state, as torch skips parameters whose grad is None. State is
// keyed by parameter name (a network's names are unique), so it survives rebuilding the network and is
// saved and restored by name (visit_state).
template <class B>
class sgd {
 public:
  using backend = B;
  using tensor_type = tensor<B>;

  explicit sgd(sgd_options options = {}) : options_(options) { options_.validate(); }

  // One update of every parameter that is not frozen. Everything is checked before anything changes, so
  // an error leaves the parameters and the state as they were.
  template <class Net>
  void step(context<B>& ctx, Net& net) {
    static_assert(std::same_as<typename Net::backend, B>, "sgd<B>::step: the network runs on another backend");
    nn::for_each_parameter(net, [&](std::string_view name, nn::parameter<B>& p) {
      if (!p.frozen) state_.check("sgd", name, p);
    });
    const ops::sgd_step_options o{options_.lr, options_.momentum, options_.dampening, options_.weight_decay,
                                  options_.nesterov};
    const bool momentum = options_.momentum != 0;
    nn::for_each_parameter(net, [&](std::string_view name, nn::parameter<B>& p) {
      if (p.frozen) return;
      entry& e = state_.get(name, p.value.shape(), make_entry());
      ops::optimizer_steps<B>::sgd_step(ctx, p.value, p.grad, momentum ? &e.momentum_buffer : nullptr, o,
                                        e.step == 0);
      ++e.step;
    });
    ++steps_;
  }

  double lr() const { return options_.lr; }
  // Schedules set the learning rate before each step: set_lr(schedule(opt.steps(), base_lr)).
  void set_lr(double value) {
    require(std::isfinite(value) && value >= 0, "sgd: lr = ", value, " must be a finite value >= 0");
    options_.lr = value;
  }
  const sgd_options& options() const { return options_; }

  // Number of step() calls.
  std::int64_t steps() const { return steps_; }

  // v(name, tensor<B>&) for every state tensor ("<param>.momentum_buffer", only with momentum) and
  // v(name, std::int64_t&) for every parameter's update count ("<param>.step": 0 means the buffer starts
  // afresh at the next update) and for the step count ("steps"). Names come in parameter-name order.
  // Saving copies the tensors out; restoring into a fresh optimiser calls create_state(net) first, then
  // copies into the tensors this visits.
  template <class V>
  void visit_state(V&& v) {
    state_.for_each([&](const std::string& name, entry& e) {
      if (options_.momentum != 0) v(name + ".momentum_buffer", e.momentum_buffer);
      v(name + ".step", e.step);
    });
    v(std::string("steps"), steps_);
  }

  // Creates zero state (update count 0, which behaves exactly as no state) for every parameter of net that
  // has none, frozen ones included, so that any checkpoint of this network can be restored by visit_state.
  template <class Net>
  void create_state(Net& net) {
    static_assert(std::same_as<typename Net::backend, B>, "sgd<B>::create_state: the network runs on another backend");
    nn::for_each_parameter(net, [&](std::string_view name, nn::parameter<B>& p) {
      state_.get(name, p.value.shape(), make_entry());
    });
  }

  // Whether a parameter has state (it has been updated, or create_state made it).
  bool has_state(std::string_view name) const { return state_.contains(name); }

 private:
  struct entry {
    tensor_type momentum_buffer;  // empty without momentum
    std::int64_t step = 0;
  };

  auto make_entry() const {
    return [momentum = options_.momentum != 0](const shape& s) {
      return entry{momentum ? tensor_type(s) : tensor_type(), 0};
    };
  }

  sgd_options options_;
  parameter_state<entry> state_;
  std::int64_t steps_ = 0;
};

}  // namespace optim
FERGEN_END_NAMESPACE
