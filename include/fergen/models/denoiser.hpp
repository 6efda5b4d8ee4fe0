// fergen/models/denoiser.hpp: the two contracts of networks that take more than an image: blocks that also
// take an embedding (the UNet's residual blocks), and conditional denoisers (the UNet itself).
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/core/shape.hpp>
#include <fergen/core/tensor.hpp>
#include <fergen/nn/layer.hpp>

#include <concepts>
#include <cstdint>
#include <span>

FERGEN_BEGIN_NAMESPACE
namespace models {

// What the backward pass of a block with two inputs returns: the gradient of each.
template <class B>
struct embedded_gradients {
  tensor<B> dx;    // with respect to the feature map
  tensor<B> demb;  // with respect to the embedding [N, E, 1, 1]
};

// An embedding block E on backend B = E::backend: a layer whose forward also takes one vector per sample
// (the time and class embedding of a diffusion UNet) and whose backward returns both gradients.
//   shape output_shape(shape x) const
//   tensor<B> forward(context<B>&, const tensor<B>& x, const tensor<B>& emb)    emb: [N, E, 1, 1]
//   embedded_gradients<B> backward(context<B>&, const tensor<B>& dy)
//   void visit_parameters(V&&)
// Layers with one input keep the plain contract of nn/layer.hpp; a sequence that mixes both kinds
// (models/unet_blocks.hpp: embed_sequential) passes the embedding to the blocks that take it.
template <class L>
concept embedding_block =
    nn::has_backend<L> && nn::has_output_shape<L> && nn::has_visit_parameters<L> &&
    requires(L& l, context<typename L::backend>& ctx, const tensor<typename L::backend>& x) {
      { l.forward(ctx, x, x) } -> std::same_as<tensor<typename L::backend>>;
      { l.backward(ctx, x) } -> std::same_as<embedded_gradients<typename L::backend>>;
    };

// A conditional denoiser M: the network of a diffusion model. Given noisy images x_t, their timesteps and
// class labels it predicts one tensor of x_t's shape (noise, clean image or velocity: see
// diffusion/parameterization.hpp).
//   tensor<B> forward(context<B>&, const tensor<B>& x_t, std::span<const double> timesteps,
//                     std::span<const std::int64_t> labels)
//       one timestep per sample; labels: one per sample in [0, class_count()), or null_label() (the
//       unconditional token of classifier-free guidance); empty when class_count() is 0
//   tensor<B> backward(context<B>&, const tensor<B>& dy) -> dx_t; accumulates parameter gradients
//   std::int64_t class_count() const        0 for an unconditional model
//   std::int64_t null_label() const         the label of the null token, or -1 when the model has none
//   shape output_shape(shape) const, void visit_parameters(V&&)
// Timesteps are inputs without a gradient; the embedding tables and projections they pass through are
// parameters and receive theirs.
template <class M>
concept conditional_denoiser =
    nn::has_backend<M> && nn::has_output_shape<M> && nn::has_visit_parameters<M> &&
    requires(M& m, const M& cm, context<typename M::backend>& ctx, const tensor<typename M::backend>& x,
             std::span<const double> t, std::span<const std::int64_t> y) {
      { m.forward(ctx, x, t, y) } -> std::same_as<tensor<typename M::backend>>;
      { m.backward(ctx, x) } -> std::same_as<tensor<typename M::backend>>;
      { cm.class_count() } -> std::convertible_to<std::int64_t>;
      { cm.null_label() } -> std::convertible_to<std::int64_t>;
    };

}  // namespace models
FERGEN_END_NAMESPACE
