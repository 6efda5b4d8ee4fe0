// fergen/core/rng.hpp: counter-based random numbers (Philox4x32-10) that give the same bits everywhere.
#pragma once

#include <fergen/config.hpp>

#include <cmath>
#include <cstdint>
#include <limits>

FERGEN_BEGIN_NAMESPACE

// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a bijection of a
// 128-bit counter under a 64-bit key. Element i of a draw is a pure function of (seed, stream, i), so a
// tensor is filled in any order, by any number of threads, on the CPU or the GPU, with identical bits.
struct philox_block {
  std::uint32_t v[4];
};

FERGEN_HD constexpr philox_block philox4x32_10(philox_block counter, std::uint32_t key0, std::uint32_t key1) {
  constexpr std::uint32_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;  // multipliers of the reference
  constexpr std::uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;  // Weyl key increments
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = std::uint64_t{m0} * counter.v[0];
    const std::uint64_t p1 = std::uint64_t{m1} * counter.v[2];
    const auto hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
    const auto hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
    counter = philox_block{{hi1 ^ counter.v[1] ^ key0, lo1, hi0 ^ counter.v[3] ^ key1, lo0}};
    key0 += w0;
    key1 += w1;
  }
  return counter;
}

// One independent stream of numbers: the key is the seed, the upper half of the counter is the stream id,
// the lower half counts blocks of four 32-bit words. Streams never overlap, whatever their lengths.
struct random_stream {
  std::uint64_t seed = 0;
  std::uint64_t id = 0;

  // The four words of block b.
  FERGEN_HD constexpr philox_block block(std::uint64_t b) const {
    return philox4x32_10(philox_block{{static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(b >> 32),
                                       static_cast<std::uint32_t>(id), static_cast<std::uint32_t>(id >> 32)}},
                         static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
  }

  // Word i of the stream.
  FERGEN_HD constexpr std::uint32_t bits(std::uint64_t i) const { return block(i / 4).v[i % 4]; }

  // Element i as a uniform number in [0, 1), 24 bits (exact in float).
  FERGEN_HD constexpr float uniform(std::uint64_t i) const { return uniform_of(bits(i)); }

  // The uniform number of one 32-bit word: kernels that draw a whole block(b) at once (elements 4b..4b+3)
  // turn its words into the same numbers as uniform(i).
  FERGEN_HD static constexpr float uniform_of(std::uint32_t word) {
    return static_cast<float>(word >> 8) * (1.0f / 16777216.0f);
  }

  // Element i as a standard normal number. Box-Muller on words (2k, 2k+1) of a block gives elements 2k
  // (cosine) and 2k+1 (sine); u1 lies in (0, 1] so the logarithm is finite. Computed in double: the
  // uniform bits are identical on every device, the normal agrees to the rounding of the math library.
  FERGEN_HD double normal(std::uint64_t i) const {
    const philox_block r = block(i / 4);
    const unsigned pair = static_cast<unsigned>(i % 4) / 2;
    const double u1 = (static_cast<double>(r.v[2 * pair] >> 8) + 1.0) * (1.0 / 16777216.0);
    const double u2 = static_cast<double>(r.v[2 * pair + 1] >> 8) * (1.0 / 16777216.0);
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 6.283185307179586476925 * u2;
    return (i % 2 == 0) ? radius * std::cos(angle) : radius * std::sin(angle);
  }
};

// A seeded source of streams and, for host code such as shuffling, a UniformRandomBitGenerator.
// Every random thing in fergen takes one of these (or a seed): same seed, same bits.
class generator {
 public:
  using result_type = std::uint32_t;

  constexpr explicit generator(std::uint64_t seed = 0) : seed_(seed) {}

  constexpr std::uint64_t seed() const { return seed_; }

  // A fresh stream, independent of every stream taken before it. Stream ids start at 1: id 0 serves the
  // generator's own word-by-word output below.
  constexpr random_stream take() { return random_stream{seed_, ++streams_taken_}; }

  // std::uniform_random_bit_generator interface (std::shuffle, distributions).
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
  constexpr result_type operator()() { return random_stream{seed_, 0}.bits(words_used_++); }

  // Uniform integer in [0, n) without modulo bias: words below 2^64 mod n are rejected, so every residue
  // is hit by the same number of 64-bit words.
  constexpr std::uint64_t below(std::uint64_t n) {
    if (n <= 1) return 0;
    const std::uint64_t threshold = (0 - n) % n;
    for (;;) {
      const std::uint64_t x = (std::uint64_t{(*this)()} << 32) | (*this)();
      if (x >= threshold) return x % n;
    }
  }

  // Uniform double in [0, 1), 53 bits.
  constexpr double uniform() {
    const std::uint64_t x = (std::uint64_t{(*this)()} << 32) | (*this)();
    return static_cast<double>(x >> 11) * (1.0 / 9007199254740992.0);
  }

  // The whole state, for exact resume from a checkpoint.
  struct state {
    std::uint64_t seed, streams_taken, words_used;
  };
  constexpr state save() const { return {seed_, streams_taken_, words_used_}; }
  constexpr void restore(const state& s) {
    seed_ = s.seed;
    streams_taken_ = s.streams_taken;
    words_used_ = s.words_used;
  }

 private:
  std::uint64_t seed_ = 0;
  std::uint64_t streams_taken_ = 0;
  std::uint64_t words_used_ = 0;
};

FERGEN_END_NAMESPACE
