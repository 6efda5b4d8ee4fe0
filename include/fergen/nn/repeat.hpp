// fergen/nn/repeat.hpp: N blocks of one type applied in turn (a ResNet stage, a UNet level).
#pragma once

#include <fergen/nn/layer.hpp>
#include <fergen/nn/named.hpp>

#include <array>
#include <concepts>
#include <cstddef>
#include <utility>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// repeat<N, Block>: y = block_{N-1}(... block_0(x)), children named "0" .. "N-1". Blocks are built by a
// factory make(i) (the first block of a stage often differs in stride or width) or copied from a
// prototype (copies have their own parameters).
template <std::size_t N, class Block>
class repeat {
  static_assert(N > 0, "repeat<0, Block>: a repeat needs at least one block");
  static_assert(check_layer<Block>(), "repeat<N, Block>: Block must be a fergen layer (see above)");

 public:
  using backend = typename Block::backend;
  static constexpr std::size_t size = N;

  explicit repeat(const Block& prototype) : blocks_(build([&](std::size_t) { return prototype; })) {}

  template <class Make>
    requires std::is_invocable_r_v<Block, Make&, std::size_t> && (!std::same_as<std::remove_cvref_t<Make>, Block>)
  explicit repeat(Make&& make) : blocks_(build(make)) {}

  repeat()
    requires std::default_initializable<Block>
  = default;

  Block& operator[](std::size_t i) { return blocks_[i]; }
  const Block& operator[](std::size_t i) const { return blocks_[i]; }

  shape output_shape(shape x) const {
    for (std::size_t i = 0; i < N; ++i)
      x = in_child([i] { return std::to_string(i); }, [&] { return blocks_[i].output_shape(x); });
    return x;
  }

  tensor<backend> forward(context<backend>& ctx, const tensor<backend>& x) {
    tensor<backend> y = x;
    for (std::size_t i = 0; i < N; ++i)
      y = in_child([i] { return std::to_string(i); }, [&] { return blocks_[i].forward(ctx, y); });
    return y;
  }

  tensor<backend> backward(context<backend>& ctx, const tensor<backend>& dy) {
    tensor<backend> d = dy;
    for (std::size_t i = N; i-- > 0;)
      d = in_child([i] { return std::to_string(i); }, [&] { return blocks_[i].backward(ctx, d); });
    return d;
  }

  template <class V>
  void visit_parameters(V&& visit) {
    for (std::size_t i = 0; i < N; ++i) {
      auto inner = prefixed(std::to_string(i), visit);
      blocks_[i].visit_parameters(inner);
    }
  }

 private:
  template <class Make>
  static std::array<Block, N> build(Make&& make) {
    // Braced initialisers run left to right: block i is made i-th.
    return [&]<std::size_t... Is>(std::index_sequence<Is...>) { return std::array<Block, N>{{make(Is)...}}; }
    (std::make_index_sequence<N>{});
  }

  std::array<Block, N> blocks_;
};

}  // namespace nn
FERGEN_END_NAMESPACE
