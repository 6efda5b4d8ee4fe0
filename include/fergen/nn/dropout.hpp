// fergen/nn/dropout.hpp: inverted dropout (torch.nn.Dropout), seeded through the context.
#pragma once

#include <fergen/backend/cpu/dropout.hpp>
#include <fergen/backend/dropout.hpp>
#include <fergen/nn/layer.hpp>

#include <optional>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// Training: each element is zeroed with probability p and the survivors scaled by 1/(1-p), so the
// expected output equals the input; evaluation: the identity. Each forward takes a fresh stream from
// ctx.rng, so a run is reproduced exactly by reseeding the context.
template <class B>
class dropout {
 public:
  using backend = B;

  explicit dropout(double p = 0.5) : p_(p) {
    require(p >= 0.0 && p <= 1.0, "dropout: probability ", p, " is outside [0, 1]");
  }

  shape output_shape(const shape& x) const { return x; }

  tensor<B> forward(context<B>& ctx, const tensor<B>& x) {
    mask_.reset();
    if (!ctx.training || p_ == 0.0) {
      identity_ = true;
      return x;
    }
    identity_ = false;
    auto [y, mask] = ops::dropout<B>::forward(ctx, x, p_, ctx.rng.take());
    if (ctx.record) mask_ = std::move(mask);
    return y;
  }

  tensor<B> backward(context<B>& ctx, const tensor<B>& dy) {
    if (identity_) return dy;
    require(mask_.has_value(), "dropout: backward without a recorded forward");
    tensor<B> dx = ops::dropout<B>::backward(ctx, dy, *mask_);
    mask_.reset();
    return dx;
  }

  template <class V>
  void visit_parameters(V&&) {}

  double probability() const { return p_; }

 private:
  double p_;
  bool identity_ = true;
  std::optional<tensor<B>> mask_;
};

}  // namespace nn
FERGEN_END_NAMESPACE
