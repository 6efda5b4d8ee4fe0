// tests/optim/optim_test_support.hpp: the small network and the PyTorch problem the optimiser tests share.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/core/error.hpp>
#include <fergen/nn/parameter.hpp>
#include <fergen/nn/parameters.hpp>

#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace fergen::testing {

// Three parameters of the shapes optim_reference.py uses, and one buffer, with PyTorch-style names.
template <class B>
struct toy_network {
  using backend = B;
  nn::parameter<B> conv_weight{nn::dims{4, 3, 3, 3}, nn::init_rule::constant(0)};
  nn::parameter<B> conv_bias{nn::dims{4}, nn::init_rule::constant(0)};
  nn::parameter<B> fc_weight{nn::dims{5, 4}, nn::init_rule::constant(0)};
  nn::buffer<B> running_mean{nn::dims{4}, 0.0};

  template <class V>
  void visit_parameters(V&& visit) {
    visit("conv.weight", conv_weight);
    visit("conv.bias", conv_bias);
    visit("norm.running_mean", running_mean);
    visit("fc.weight", fc_weight);
  }

  nn::parameter<B>& param(std::size_t i) { return i == 0 ? conv_weight : i == 1 ? conv_bias : fc_weight; }
};

constexpr std::size_t toy_parameters = 3;

// optim_reference.py's problem.npz: initial parameters and per-step gradients, converted to T as torch's
// .float() converts (round to nearest).
template <class T>
struct problem {
  std::vector<std::vector<T>> initial;             // [param]
  std::vector<std::vector<std::vector<T>>> grads;  // [step][param]
  std::size_t steps() const { return grads.size(); }
};

template <class T>
problem<T> load_problem() {
  const npz_archive ref = load_reference("optim_reference", "problem");
  problem<T> pr;
  for (std::size_t i = 0; i < toy_parameters; ++i) pr.initial.push_back(values_of<T>(ref, str("p", i)));
  for (std::size_t k = 0; ref.count(str("g", k, "_0")); ++k) {
    pr.grads.emplace_back();
    for (std::size_t i = 0; i < toy_parameters; ++i)
      pr.grads.back().push_back(values_of<T>(ref, str("g", k, "_", i)));
  }
  REQUIRE(pr.steps() > 0);
  return pr;
}

template <class T>
toy_network<cpu<T>> network_from(const problem<T>& pr) {
  toy_network<cpu<T>> net;
  for (std::size_t i = 0; i < toy_parameters; ++i) net.param(i).value.copy_from(pr.initial[i]);
  return net;
}

template <class T>
void set_gradients(toy_network<cpu<T>>& net, const problem<T>& pr, std::size_t step) {
  for (std::size_t i = 0; i < toy_parameters; ++i) net.param(i).grad.copy_from(pr.grads[step][i]);
}

template <class T>
std::vector<T> values_copy(const tensor<cpu<T>>& t) {
  return {t.values().begin(), t.values().end()};
}

// Runs opt over the problem as optim_reference.py ran torch (a parameter whose grad was None at a step is
// frozen for that step) and compares every parameter after every step with the trajectory p<i>_<tag>.
template <class T, class Opt>
void check_trajectory(Opt& opt, const npz_archive& ref, const std::string& tag, double tolerance) {
  const problem<T> pr = load_problem<T>();
  auto net = network_from(pr);
  auto ctx = context<cpu<T>>::train();
  const std::vector<std::int64_t> skip = values_of<std::int64_t>(ref, "skip");
  REQUIRE(skip.size() == pr.steps() * toy_parameters);
  std::vector<std::vector<double>> expected;
  for (std::size_t i = 0; i < toy_parameters; ++i)
    expected.push_back(values_of<double>(ref, str("p", i, "_", tag)));
  for (std::size_t k = 0; k < pr.steps(); ++k) {
    CAPTURE(k);
    set_gradients(net, pr, k);
    for (std::size_t i = 0; i < toy_parameters; ++i) net.param(i).frozen = skip[k * toy_parameters + i] != 0;
    opt.step(ctx, net);
    for (std::size_t i = 0; i < toy_parameters; ++i) {
      CAPTURE(i);
      CHECK(row_relative_difference(net.param(i).value, expected[i], k + 1) <= tolerance);
    }
  }
  CHECK(opt.steps() == static_cast<std::int64_t>(pr.steps()));
}

// An optimiser's or EMA's state, copied out through visit_state: what a checkpoint would hold.
template <class T>
struct saved_state {
  std::map<std::string, std::vector<T>> tensors;
  std::map<std::string, std::int64_t> counts;

  template <class Opt>
  static saved_state save(Opt& opt) {
    saved_state s;
    opt.visit_state([&](const std::string& name, auto& item) {
      if constexpr (std::is_same_v<std::remove_cvref_t<decltype(item)>, std::int64_t>) {
        s.counts[name] = item;
      } else {
        s.tensors[name] = values_copy(item);
      }
    });
    return s;
  }

  // Copies the saved values into the state visited. State that was not saved (a parameter that had none)
  // stays as create_state made it, which behaves as no state.
  template <class Opt>
  void restore(Opt& opt) const {
    opt.visit_state([&](const std::string& name, auto& item) {
      if constexpr (std::is_same_v<std::remove_cvref_t<decltype(item)>, std::int64_t>) {
        if (counts.count(name)) item = counts.at(name);
      } else {
        if (tensors.count(name)) item.copy_from(tensors.at(name));
      }
    });
  }

  std::vector<std::string> names() const {
    std::vector<std::string> all;
    for (const auto& [name, v] : tensors) all.push_back(name);
    for (const auto& [name, v] : counts) all.push_back(name);
    std::sort(all.begin(), all.end());
    return all;
  }
};

// The names visit_state reports, in its order.
template <class Opt>
std::vector<std::string> state_names(Opt& opt) {
  std::vector<std::string> names;
  opt.visit_state([&](const std::string& name, auto&) { names.push_back(name); });
  return names;
}

}  // namespace fergen::testing
