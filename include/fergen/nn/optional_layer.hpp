// fergen/nn/optional_layer.hpp: a slot that holds a layer or nothing (then it passes its input through).
#pragma once

#include <fergen/nn/layer.hpp>

#include <optional>
#include <utility>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// optional_layer<L>: L when present, the identity when absent. It lets blocks of one type differ in
// whether a part exists, which repeat<N, Block> needs: torchvision's layer1.0 has a `downsample`
// projection and layer1.1 has none, yet both are one Bottleneck type,
//   residual<named<"", main path>, named<"downsample", optional_layer<projection>>>.
// An absent layer has no parameters, so the names of a block without it match torchvision's exactly.
// Inception-V3's optional auxiliary head and transform_input use it too.
template <class L>
class optional_layer {
  static_assert(check_layer<L>(), "optional_layer<L>: L must be a fergen layer (see above)");

 public:
  using backend = typename L::backend;
  using layer_type = L;

  optional_layer() = default;  // absent
  explicit optional_layer(L layer) : layer_(std::move(layer)) {}
  explicit optional_layer(std::optional<L> layer) : layer_(std::move(layer)) {}

  bool has_value() const { return layer_.has_value(); }
  explicit operator bool() const { return has_value(); }
  L& operator*() { return *layer_; }
  const L& operator*() const { return *layer_; }
  L* operator->() { return &*layer_; }
  const L* operator->() const { return &*layer_; }
  L* get() { return layer_ ? &*layer_ : nullptr; }

  void reset() { layer_.reset(); }
  template <class... Args>
  L& emplace(Args&&... args) {
    return layer_.emplace(std::forward<Args>(args)...);
  }

  shape output_shape(const shape& x) const { return layer_ ? layer_->output_shape(x) : x; }

  tensor<backend> forward(context<backend>& ctx, const tensor<backend>& x) {
    return layer_ ? layer_->forward(ctx, x) : x;
  }

  tensor<backend> backward(context<backend>& ctx, const tensor<backend>& dy) {
    return layer_ ? layer_->backward(ctx, dy) : dy;
  }

  template <class V>
  void visit_parameters(V&& visit) {
    if (layer_) layer_->visit_parameters(visit);
  }

 private:
  std::optional<L> layer_;
};

}  // namespace nn
FERGEN_END_NAMESPACE
