// fergen/models/mlp_denoiser.hpp: a small residual MLP denoiser for low-dimensional data (the 2-D toy of
// examples/05_toy_2d.cpp and of the diffusion tests), with the same contract as the UNet.
#pragma once

#include <fergen/backend/arithmetic.hpp>
#include <fergen/backend/cpu/arithmetic.hpp>
#include <fergen/backend/cpu/timestep_embedding.hpp>
#include <fergen/backend/timestep_embedding.hpp>
#include <fergen/models/denoiser.hpp>
#include <fergen/nn/fast_silu.hpp>
#include <fergen/nn/embedding.hpp>
#include <fergen/nn/linear.hpp>
#include <fergen/nn/named.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace models {

struct mlp_denoiser_config {
  std::int64_t dim = 2;        // the data's dimension: inputs are [N, dim, 1, 1]
  std::int64_t hidden = 128;
  std::int64_t depth = 3;      // residual blocks
  std::int64_t time_dim = 32;  // sinusoidal embedding size
  std::int64_t classes = 0;
  bool null_class = true;

  void validate() const {
    require(dim >= 1 && hidden >= 1 && depth >= 0 && time_dim >= 2, "mlp_denoiser: dim ", dim, ", hidden ", hidden,
            ", depth ", depth, ", time_dim ", time_dim, " (need dim, hidden >= 1, depth >= 0, time_dim >= 2)");
    require(classes >= 0, "mlp_denoiser: classes = ", classes, " is negative");
  }
};

// h = input(x) + time_embed(sinusoidal(t)) [+ label_emb(y)];  h += blocks.k(silu(h)) for each block;
// output = output(silu(h)). Parameters: time_embed.0, time_embed.2, label_emb, input, blocks.k, output.
template <class B>
class mlp_denoiser {
 public:
  using backend = B;
  using tensor_type = tensor<B>;
  static constexpr std::string_view model_type = "mlp_denoiser";

  explicit mlp_denoiser(mlp_denoiser_config c) : config_(c) {
    c.validate();
    time_in_.emplace(c.time_dim, c.hidden);
    time_out_.emplace(c.hidden, c.hidden);
    if (c.classes > 0) label_emb_.emplace(c.classes + (c.null_class ? 1 : 0), c.hidden);
    input_.emplace(c.dim, c.hidden);
    for (std::int64_t k = 0; k < c.depth; ++k) blocks_.emplace_back(c.hidden, c.hidden);
    block_acts_.resize(static_cast<std::size_t>(c.depth));
    output_.emplace(c.hidden, c.dim);
  }

  const mlp_denoiser_config& config() const { return config_; }
  std::int64_t class_count() const { return config_.classes; }
  std::int64_t null_label() const { return config_.classes > 0 && config_.null_class ? config_.classes : -1; }

  shape output_shape(const shape& x) const {
    require(x.c == config_.dim && x.h == 1 && x.w == 1, "mlp_denoiser: input ", x, " is not [N, ", config_.dim, ", 1, 1]");
    return x;
  }

  tensor_type forward(context<B>& ctx, const tensor_type& x, std::span<const double> timesteps,
                      std::span<const std::int64_t> labels) {
    output_shape(x.shape());
    require(static_cast<std::int64_t>(timesteps.size()) == x.shape().n, "mlp_denoiser: ", timesteps.size(),
            " timesteps for a batch of ", x.shape().n);
    require(label_emb_ ? labels.size() == timesteps.size() : labels.empty(), "mlp_denoiser: ", labels.size(),
            " labels for a batch of ", x.shape().n, config_.classes > 0 ? "" : " of an unconditional network");
    tensor_type e = ops::timestep_embedding<B>::forward(ctx, timesteps, {.dim = config_.time_dim});
    e = time_in_->forward(ctx, e);
    e = time_act_.forward(ctx, e);
    e = time_out_->forward(ctx, e);
    if (label_emb_) e = ops::arithmetic<B>::add(ctx, e, nn::within(*label_emb_, [&](auto& l) { return l.forward(ctx, labels); }));
    tensor_type h = ops::arithmetic<B>::add(ctx, input_->forward(ctx, x), e);
    for (std::size_t k = 0; k < blocks_.size(); ++k)
      h = ops::arithmetic<B>::add(ctx, h, blocks_[k].forward(ctx, block_acts_[k].forward(ctx, h)));
    return output_->forward(ctx, out_act_.forward(ctx, h));
  }

  tensor_type backward(context<B>& ctx, const tensor_type& dy) {
    tensor_type dh = out_act_.backward(ctx, output_->backward(ctx, dy));
    for (std::size_t k = blocks_.size(); k-- > 0;)
      ops::arithmetic<B>::accumulate(ctx, dh, block_acts_[k].backward(ctx, blocks_[k].backward(ctx, dh)));
    const tensor_type dx = input_->backward(ctx, dh);
    if (label_emb_) label_emb_->backward(ctx, dh);
    time_in_->backward(ctx, time_act_.backward(ctx, time_out_->backward(ctx, dh)));
    return dx;
  }

  template <class V>
  void visit_parameters(V&& visit) {
    nn::visit_children(visit, time_in_, time_out_, label_emb_, input_, blocks_, output_);
  }

 private:
  // The children under their names (the only place the names are written); optional until the constructor
  // has checked the configuration.
  mlp_denoiser_config config_;
  std::optional<nn::named<"time_embed.0", nn::linear<B>>> time_in_;
  nn::fast_silu<B> time_act_;
  std::optional<nn::named<"time_embed.2", nn::linear<B>>> time_out_;
  std::optional<nn::named<"label_emb", nn::embedding<B>>> label_emb_;
  std::optional<nn::named<"input", nn::linear<B>>> input_;
  nn::named_list<"blocks", nn::linear<B>> blocks_;
  std::vector<nn::fast_silu<B>> block_acts_;
  nn::fast_silu<B> out_act_;
  std::optional<nn::named<"output", nn::linear<B>>> output_;
};

}  // namespace models
FERGEN_END_NAMESPACE
