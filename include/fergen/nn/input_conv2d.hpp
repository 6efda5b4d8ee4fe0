// fergen/nn/input_conv2d.hpp: a network's first convolution, with a fixed affine map of its input folded in.
#pragma once

#include <fergen/backend/arithmetic.hpp>
#include <fergen/backend/channel_affine.hpp>
#include <fergen/backend/conv2d.hpp>
#include <fergen/backend/conv2d_fused.hpp>
#include <fergen/backend/cpu/arithmetic.hpp>
#include <fergen/backend/cpu/channel_affine.hpp>
#include <fergen/backend/cpu/conv2d.hpp>
#include <fergen/backend/cpu/conv2d_fused.hpp>
#include <fergen/nn/conv2d.hpp>
#include <fergen/nn/layer.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// A fixed affine map from the tensor a network is given (in_channels) to the input its first convolution's
// weights expect (weight channels): v = scale x + shift, per pixel. A gray image replicated and normalised
// with ImageNet's statistics is v_c = (g - mean_c) / std_c: scale is the column 1/std_c, shift -mean_c/std_c.
struct input_map {
  std::int64_t in_channels = 0;
  std::int64_t out_channels = 0;
  std::vector<double> scale;  // out_channels x in_channels, row-major
  std::vector<double> shift;  // out_channels

  static input_map identity(std::int64_t channels) {
    input_map m{channels, channels, std::vector<double>(static_cast<std::size_t>(channels * channels), 0.0),
                std::vector<double>(static_cast<std::size_t>(channels), 0.0)};
    for (std::int64_t c = 0; c < channels; ++c) m.scale[static_cast<std::size_t>(c * channels + c)] = 1.0;
    return m;
  }

  // v_c = scale[c] x_c + shift[c] for each channel c.
  static input_map diagonal(const std::vector<double>& scale, const std::vector<double>& shift) {
    input_map m = identity(static_cast<std::int64_t>(scale.size()));
    require(shift.size() == scale.size(), "input_map::diagonal: ", scale.size(), " scales and ", shift.size(), " shifts");
    for (std::size_t c = 0; c < scale.size(); ++c) {
      m.scale[c * scale.size() + c] = scale[c];
      m.shift[c] = shift[c];
    }
    return m;
  }

  double a(std::int64_t row, std::int64_t col) const {
    return scale[static_cast<std::size_t>(row * in_channels + col)];
  }

  bool is_identity() const {
    if (in_channels != out_channels) return false;
    const input_map id = identity(in_channels);
    return scale == id.scale && shift == id.shift;
  }

  // This map, then `next`: x -> next.scale (scale x + shift) + next.shift.
  input_map then(const input_map& next) const {
    require(next.in_channels == out_channels, "input_map::then: a map to ", out_channels,
            " channels cannot feed a map from ", next.in_channels);
    input_map m{in_channels, next.out_channels,
                std::vector<double>(static_cast<std::size_t>(next.out_channels * in_channels), 0.0), next.shift};
    for (std::int64_t j = 0; j < next.out_channels; ++j) {
      for (std::int64_t c = 0; c < out_channels; ++c) {
        for (std::int64_t i = 0; i < in_channels; ++i)
          m.scale[static_cast<std::size_t>(j * in_channels + i)] += next.a(j, c) * a(c, i);
        m.shift[static_cast<std::size_t>(j)] += next.a(j, c) * shift[static_cast<std::size_t>(c)];
      }
    }
    return m;
  }

  void validate() const {
    require(in_channels > 0 && out_channels > 0, "input_map: channels must be positive, got ", in_channels, " -> ",
            out_channels);
    require(static_cast<std::int64_t>(scale.size()) == in_channels * out_channels &&
                static_cast<std::int64_t>(shift.size()) == out_channels,
            "input_map: a map from ", in_channels, " to ", out_channels, " channels needs ", in_channels * out_channels,
            " scales and ", out_channels, " shifts, got ", scale.size(), " and ", shift.size());
    for (double v : scale) require(std::isfinite(v), "input_map: scale ", v, " is not finite");
    for (double v : shift) require(std::isfinite(v), "input_map: shift ", v, " is not finite");
  }
};

// conv2d(map(x)) with the convolution's zero padding in the mapped space, exactly, without forming map(x).
// The weight keeps the shape it has for the mapped input ((out, 3, kh, kw) for RGB), so weights trained on
// normalised RGB images load unchanged and train as they would in the RGB network. Because
//   sum_c W_c * (sum_i A_ci x_i + s_c) = sum_i (sum_c W_c A_ci) * x_i + (sum_c W_c s_c) * 1_inside
// where 1_inside is 1 on the image and 0 on the padding, the layer convolves [x, 1] (in_channels + 1 planes)
// with the folded weights [W A, W s]. For a gray input that is 2 planes instead of 3. The identity map is a
// plain conv2d.
//
// A network's first layer has no use for the gradient of its input, which costs as much as the layer's
// forward pass: set_input_gradient(false) skips it, and backward then returns an empty tensor.
template <class B>
class input_conv2d {
 public:
  using backend = B;
  using tensor_type = tensor<B>;

  input_conv2d(std::int64_t weight_channels, std::int64_t out_channels, conv2d_options options = {},
               std::optional<input_map> map = std::nullopt)
      : conv_(weight_channels, out_channels, options), map_(map.value_or(input_map::identity(weight_channels))) {
    map_.validate();
    require(map_.out_channels == weight_channels, "input_conv2d: the input map gives ", map_.out_channels,
            " channels, the weights expect ", weight_channels);
    identity_ = map_.is_identity();
    const std::int64_t in = map_.in_channels, lifted = in + 1, w = weight_channels;
    // [x, 1] from x; the folded weights [W A, W s] from W, and back for the weight gradient; x's gradient
    // from [x, 1]'s.
    lift_.assign(static_cast<std::size_t>(lifted * in), 0.0);
    lift_shift_.assign(static_cast<std::size_t>(lifted), 0.0);
    for (std::int64_t i = 0; i < in; ++i) lift_[static_cast<std::size_t>(i * in + i)] = 1.0;
    lift_shift_[static_cast<std::size_t>(in)] = 1.0;
    fold_.assign(static_cast<std::size_t>(lifted * w), 0.0);
    unfold_.assign(static_cast<std::size_t>(w * lifted), 0.0);
    for (std::int64_t c = 0; c < w; ++c) {
      for (std::int64_t i = 0; i <= in; ++i) {
        const double v = i < in ? map_.a(c, i) : map_.shift[static_cast<std::size_t>(c)];
        fold_[static_cast<std::size_t>(i * w + c)] = v;
        unfold_[static_cast<std::size_t>(c * lifted + i)] = v;
      }
    }
    drop_.assign(static_cast<std::size_t>(in * lifted), 0.0);
    for (std::int64_t i = 0; i < in; ++i) drop_[static_cast<std::size_t>(i * lifted + i)] = 1.0;
  }

  shape output_shape(const shape& x) const {
    require(x.c == map_.in_channels, describe(), ": input ", x, " has ", x.c, " channels, expected ",
            map_.in_channels);
    return conv_.geometry().output(x, conv_.out_channels());
  }

  tensor_type forward(context<B>& ctx, const tensor_type& x) {
    output_shape(x.shape());
    saved_.reset();
    saved in = operands(ctx, x);
    tensor_type y = ops::conv2d<B>::forward(ctx, in.input, weight_of(in), bias_value(), conv_.geometry());
    if (ctx.record) saved_ = std::move(in);
    return y;
  }

  // This convolution and what follows it in inference as one op (nn/inference_fusion.hpp); keeps nothing.
  tensor_type forward_fused(context<B>& ctx, const tensor_type& x, const ops::conv2d_epilogue<B>& after) {
    output_shape(x.shape());
    saved_.reset();
    const saved in = operands(ctx, x);
    return ops::conv2d_fused<B>::forward(ctx, in.input, weight_of(in), bias_value(), conv_.geometry(), after);
  }

  tensor_type backward(context<B>& ctx, const tensor_type& dy) {
    require(saved_.has_value(), describe(), ": backward without a recorded forward (run forward with ctx.record)");
    const shape expected = conv_.geometry().output(saved_->input.shape(), conv_.out_channels());
    require(dy.shape() == expected, describe(), ": gradient ", dy.shape(), " does not match the output ", expected);
    const tensor_type* folded = saved_->folded ? &*saved_->folded : nullptr;
    backward_weights(ctx, dy, saved_->input, folded);
    tensor_type dx;
    if (input_gradient_) {
      dx = ops::conv2d<B>::backward_data(ctx, dy, weight_of(*saved_), saved_->input.shape(), conv_.geometry());
      if (folded) dx = ops::channel_affine<B>::forward(ctx, dx, drop_map());
    }
    saved_.reset();
    return dx;
  }

  template <class V>
  void visit_parameters(V&& visit) {
    conv_.visit_parameters(visit);
  }

  parameter<B>& weight() { return conv_.weight(); }
  parameter<B>* bias() { return conv_.bias(); }
  const ops::conv2d_geometry& geometry() const { return conv_.geometry(); }
  const input_map& map() const { return map_; }
  std::int64_t in_channels() const { return map_.in_channels; }
  std::int64_t weight_channels() const { return conv_.in_channels(); }
  std::int64_t out_channels() const { return conv_.out_channels(); }

  bool input_gradient() const { return input_gradient_; }
  void set_input_gradient(bool on) { input_gradient_ = on; }

  std::string describe() const {
    const auto& g = conv_.geometry();
    return str("input_conv2d(", map_.in_channels, identity_ ? "" : str(" mapped to ", conv_.in_channels()), "->",
               conv_.out_channels(), ", ", g.kernel_h, "x", g.kernel_w, ", stride ", g.stride_h, "x", g.stride_w, ")");
  }

 private:
  // The weight gradient (through the fold when the input is mapped) and the bias gradient.
  void backward_weights(context<B>& ctx, const tensor_type& dy, const tensor_type& input, const tensor_type* folded) {
    parameter<B>& w = conv_.weight();
    tensor_type* dbias = conv_.bias() ? conv_.bias()->grad_or_null() : nullptr;
    if (!folded || w.frozen) {
      ops::conv2d<B>::backward_weight(ctx, dy, input, conv_.geometry(), w.grad_or_null(), dbias);
      return;
    }
    tensor_type dfolded(folded->shape());
    ops::conv2d<B>::backward_weight(ctx, dy, input, conv_.geometry(), &dfolded, dbias);
    ops::arithmetic<B>::accumulate(ctx, w.grad, ops::channel_affine<B>::forward(ctx, dfolded, unfold_map()));
  }

  ops::channel_map lift_map() const { return {map_.in_channels + 1, map_.in_channels, lift_, lift_shift_}; }
  ops::channel_map fold_map() const { return {map_.in_channels + 1, conv_.in_channels(), fold_, {}}; }
  ops::channel_map unfold_map() const { return {conv_.in_channels(), map_.in_channels + 1, unfold_, {}}; }
  ops::channel_map drop_map() const { return {map_.in_channels, map_.in_channels + 1, drop_, {}}; }

  struct saved {
    tensor_type input;                   // x, or [x, 1] when the input is mapped
    std::optional<tensor_type> folded;   // [W A, W s] when the input is mapped
  };

  // What the convolution reads (and backward needs): x and W, or [x, 1] and the folded weights.
  saved operands(context<B>& ctx, const tensor_type& x) {
    if (identity_) return {x, std::nullopt};
    return {ops::channel_affine<B>::forward(ctx, x, lift_map()),
            ops::channel_affine<B>::forward(ctx, conv_.weight().value, fold_map())};
  }
  const tensor_type& weight_of(const saved& in) { return in.folded ? *in.folded : conv_.weight().value; }
  const tensor_type* bias_value() { return conv_.bias() ? &conv_.bias()->value : nullptr; }

  conv2d<B> conv_;
  input_map map_;
  bool identity_ = true;
  bool input_gradient_ = true;
  std::vector<double> lift_, lift_shift_, fold_, unfold_, drop_;
  std::optional<saved> saved_;
};

}  // namespace nn
FERGEN_END_NAMESPACE
