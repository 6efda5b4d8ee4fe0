// fergen/nn/initialize.hpp: filling parameters by their init rules from one seed.
#pragma once

#include <fergen/core/rng.hpp>
#include <fergen/nn/parameters.hpp>

#include <cstdint>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// Fills one parameter by a rule from a stream of its own.
template <class B>
void initialize(parameter<B>& p, const init_rule& rule, const random_stream& stream) {
  using T = typename B::value_type;
  std::vector<T> values(static_cast<std::size_t>(p.value.size()));
  for (std::size_t i = 0; i < values.size(); ++i) {
    switch (rule.distribution) {
      case init_rule::kind::constant: values[i] = static_cast<T>(rule.a); break;
      case init_rule::kind::uniform:
        values[i] = static_cast<T>(rule.a + (rule.b - rule.a) * static_cast<double>(stream.uniform(i)));
        break;
      case init_rule::kind::normal: values[i] = static_cast<T>(rule.a + rule.b * stream.normal(i)); break;
    }
  }
  p.value.copy_from(values);
}

// Initialises every parameter of a network by its rule (PyTorch's defaults unless a model changed them).
// Parameter k in forward order draws from stream k of the seed, so a network's initial weights depend on
// the seed alone, and adding a layer at the end leaves the others' values unchanged.
template <class Net>
void initialize(Net& net, std::uint64_t seed) {
  generator gen(seed);
  for_each_parameter(net, [&](std::string_view, auto& p) { initialize(p, p.init, gen.take()); });
}

}  // namespace nn
FERGEN_END_NAMESPACE
