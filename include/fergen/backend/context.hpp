// fergen/backend/context.hpp: what every forward and backward call is given.
#pragma once

#include <fergen/config.hpp>
#include <fergen/core/rng.hpp>

#include <cstdint>

FERGEN_BEGIN_NAMESPACE

// The context carries the mode of a pass and the backend's resources, so layers hold no global state.
//   training: BatchNorm normalises with batch statistics and updates its running ones; dropout drops.
//   record:   layers keep what backward needs. Off for inference, to free activations as they go.
// The two are separate because fine-tuning sometimes backpropagates through layers kept in eval mode.
template <class Backend>
struct context {
  bool training = true;
  bool record = true;
  generator rng{0};                          // dropout masks and other in-network randomness
  typename Backend::resources resources{};

  static context train(std::uint64_t seed = 0) { return context{true, true, generator{seed}, {}}; }
  static context eval() { return context{false, false, generator{0}, {}}; }
};

FERGEN_END_NAMESPACE
