// fergen/models/inception.hpp: Inception-V3 as torchvision builds it (Inception3), auxiliary head optional.
#pragma once

#include <fergen/backend/arithmetic.hpp>
#include <fergen/backend/cpu/arithmetic.hpp>
#include <fergen/models/classifier.hpp>
#include <fergen/models/imagenet.hpp>
#include <fergen/nn/activation.hpp>
#include <fergen/nn/adaptive_avg_pool2d.hpp>
#include <fergen/nn/avg_pool2d.hpp>
#include <fergen/nn/batch_norm2d.hpp>
#include <fergen/nn/concat.hpp>
#include <fergen/nn/conv2d.hpp>
#include <fergen/nn/dropout.hpp>
#include <fergen/nn/flatten.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/input_conv2d.hpp>
#include <fergen/nn/linear.hpp>
#include <fergen/nn/max_pool2d.hpp>
#include <fergen/nn/named.hpp>
#include <fergen/nn/optional_layer.hpp>
#include <fergen/nn/sequential.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace models {

// The family's knob: every width of torchvision's Inception-V3 divided by `divisor` (rounded up), so that
// narrow variants for tests and small data are the same network. Depth and strides stay: every variant
// needs inputs of at least 75x75 (the stride-2 stages leave no map below that).
struct inception_config {
  std::int64_t divisor = 1;
  friend constexpr bool operator==(const inception_config&, const inception_config&) = default;
  constexpr std::int64_t width(std::int64_t channels) const { return (channels + divisor - 1) / divisor; }
};

inline constexpr inception_config inception_v3_config{};

// Run-time options. torchvision's constructor defaults to aux_logits=True and transform_input=False; its
// ImageNet weights are used with transform_input=True. Here the auxiliary head is off unless asked for.
struct inception_options {
  bool aux_logits = false;       // AuxLogits after Mixed_6e, run in training only (needs inputs >= 299x299)
  bool transform_input = false;  // torchvision's _transform_input, folded into Conv2d_1a_3x3
  double dropout = 0.5;
};

// The auxiliary loss weight of torchvision's reference training recipe: loss = main + 0.4 * aux.
inline constexpr double inception_aux_weight = 0.4;

namespace detail {

template <class B>
using basic_conv = nn::sequential<nn::named<"conv", nn::conv2d<B>>, nn::named<"bn", nn::batch_norm2d<B>>, nn::relu<B>>;
template <class B>
using basic_input_conv =
    nn::sequential<nn::named<"conv", nn::input_conv2d<B>>, nn::named<"bn", nn::batch_norm2d<B>>, nn::relu<B>>;

template <class B>
using pool_branch = nn::sequential<nn::avg_pool2d<B>, nn::named<"branch_pool", basic_conv<B>>>;

// One branch: convolutions one after another.
template <class B, fixed_string... Names>
using conv_chain = nn::sequential<nn::named<Names, basic_conv<B>>...>;
// Two convolutions side by side on one input (InceptionE's 1x3 and 3x1).
template <class B, fixed_string A, fixed_string C>
using conv_pair = nn::concat<nn::named<A, basic_conv<B>>, nn::named<C, basic_conv<B>>>;

template <class B>
using inception_a = nn::concat<nn::named<"branch1x1", basic_conv<B>>,
                               nn::named<"", conv_chain<B, "branch5x5_1", "branch5x5_2">>,
                               nn::named<"", conv_chain<B, "branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3">>,
                               nn::named<"", pool_branch<B>>>;

template <class B>
using inception_b = nn::concat<nn::named<"branch3x3", basic_conv<B>>,
                               nn::named<"", conv_chain<B, "branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3">>,
                               nn::max_pool2d<B>>;

template <class B>
using inception_c =
    nn::concat<nn::named<"branch1x1", basic_conv<B>>,
               nn::named<"", conv_chain<B, "branch7x7_1", "branch7x7_2", "branch7x7_3">>,
               nn::named<"", conv_chain<B, "branch7x7dbl_1", "branch7x7dbl_2", "branch7x7dbl_3", "branch7x7dbl_4",
                                        "branch7x7dbl_5">>,
               nn::named<"", pool_branch<B>>>;

template <class B>
using inception_d =
    nn::concat<nn::named<"", conv_chain<B, "branch3x3_1", "branch3x3_2">>,
               nn::named<"", conv_chain<B, "branch7x7x3_1", "branch7x7x3_2", "branch7x7x3_3", "branch7x7x3_4">>,
               nn::max_pool2d<B>>;

template <class B>
using e_branch3x3 =
    nn::sequential<nn::named<"branch3x3_1", basic_conv<B>>, nn::named<"", conv_pair<B, "branch3x3_2a", "branch3x3_2b">>>;
template <class B>
using e_branch3x3dbl =
    nn::sequential<nn::named<"branch3x3dbl_1", basic_conv<B>>, nn::named<"branch3x3dbl_2", basic_conv<B>>,
                   nn::named<"", conv_pair<B, "branch3x3dbl_3a", "branch3x3dbl_3b">>>;
template <class B>
using inception_e = nn::concat<nn::named<"branch1x1", basic_conv<B>>, nn::named<"", e_branch3x3<B>>,
                               nn::named<"", e_branch3x3dbl<B>>, nn::named<"", pool_branch<B>>>;

template <class B>
using inception_aux = nn::sequential<nn::avg_pool2d<B>, nn::named<"conv0", basic_conv<B>>,
                                     nn::named<"conv1", basic_conv<B>>, nn::adaptive_avg_pool2d<B>, nn::flatten<B>,
                                     nn::named<"fc", nn::linear<B>>>;

// Conv2d_1a_3x3 .. Mixed_6e, where the auxiliary head branches off.
template <class B>
using inception_front =
    nn::sequential<nn::named<"Conv2d_1a_3x3", basic_input_conv<B>>, nn::named<"Conv2d_2a_3x3", basic_conv<B>>,
                   nn::named<"Conv2d_2b_3x3", basic_conv<B>>, nn::named<"maxpool1", nn::max_pool2d<B>>,
                   nn::named<"Conv2d_3b_1x1", basic_conv<B>>, nn::named<"Conv2d_4a_3x3", basic_conv<B>>,
                   nn::named<"maxpool2", nn::max_pool2d<B>>, nn::named<"Mixed_5b", inception_a<B>>,
                   nn::named<"Mixed_5c", inception_a<B>>, nn::named<"Mixed_5d", inception_a<B>>,
                   nn::named<"Mixed_6a", inception_b<B>>, nn::named<"Mixed_6b", inception_c<B>>,
                   nn::named<"Mixed_6c", inception_c<B>>, nn::named<"Mixed_6d", inception_c<B>>,
                   nn::named<"Mixed_6e", inception_c<B>>>;

// Mixed_7a .. the features: avgpool (global), dropout, flatten.
template <class B>
using inception_back =
    nn::sequential<nn::named<"Mixed_7a", inception_d<B>>, nn::named<"Mixed_7b", inception_e<B>>,
                   nn::named<"Mixed_7c", inception_e<B>>, nn::named<"avgpool", nn::adaptive_avg_pool2d<B>>,
                   nn::named<"dropout", nn::dropout<B>>, nn::flatten<B>>;

// torchvision's initialisation: trunc_normal_(std=0.1, a=-2, b=2) for every convolution and linear weight
// (0.01 for AuxLogits.conv1, 0.001 for AuxLogits.fc). At these deviations the truncation at +-2 never bites,
// so a plain normal is the same distribution.
template <class B>
basic_conv<B> make_basic_conv(std::int64_t in, std::int64_t out, nn::conv2d_options o, double stddev = 0.1) {
  o.bias = false;
  nn::conv2d<B> conv(in, out, o);
  conv.weight().init = nn::init_rule::normal(0, stddev);
  return basic_conv<B>(std::move(conv), nn::batch_norm2d<B>(out, {.eps = 1e-3}), nn::relu<B>{});
}

template <class B>
pool_branch<B> make_pool_branch(std::int64_t in, std::int64_t out) {
  return pool_branch<B>(nn::avg_pool2d<B>({.kernel = 3, .stride = 1, .padding = 1}), make_basic_conv<B>(in, out, {}));
}

// The builders: a block and the channels it gives, from the channels it takes.
template <class Block>
struct built_block {
  Block block;
  std::int64_t channels;
};

template <class B>
built_block<inception_a<B>> make_inception_a(const inception_config& c, std::int64_t in, std::int64_t pool_features) {
  const auto w = [&](std::int64_t v) { return c.width(v); };
  return {inception_a<B>(make_basic_conv<B>(in, w(64), {}),
                         conv_chain<B, "branch5x5_1", "branch5x5_2">(
                             make_basic_conv<B>(in, w(48), {}),
                             make_basic_conv<B>(w(48), w(64), {.kernel = 5, .padding = 2})),
                         conv_chain<B, "branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3">(
                             make_basic_conv<B>(in, w(64), {}),
                             make_basic_conv<B>(w(64), w(96), {.kernel = 3, .padding = 1}),
                             make_basic_conv<B>(w(96), w(96), {.kernel = 3, .padding = 1})),
                         make_pool_branch<B>(in, w(pool_features))),
          w(64) + w(64) + w(96) + w(pool_features)};
}

template <class B>
built_block<inception_b<B>> make_inception_b(const inception_config& c, std::int64_t in) {
  const auto w = [&](std::int64_t v) { return c.width(v); };
  return {inception_b<B>(make_basic_conv<B>(in, w(384), {.kernel = 3, .stride = 2}),
                         conv_chain<B, "branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3">(
                             make_basic_conv<B>(in, w(64), {}),
                             make_basic_conv<B>(w(64), w(96), {.kernel = 3, .padding = 1}),
                             make_basic_conv<B>(w(96), w(96), {.kernel = 3, .stride = 2})),
                         nn::max_pool2d<B>({.kernel = 3, .stride = 2})),
          w(384) + w(96) + in};
}

template <class B>
built_block<inception_c<B>> make_inception_c(const inception_config& c, std::int64_t in, std::int64_t channels_7x7) {
  const auto w = [&](std::int64_t v) { return c.width(v); };
  const std::int64_t c7 = w(channels_7x7);
  const nn::conv2d_options row{.kernel = {1, 7}, .padding = {0, 3}}, column{.kernel = {7, 1}, .padding = {3, 0}};
  return {inception_c<B>(make_basic_conv<B>(in, w(192), {}),
                         conv_chain<B, "branch7x7_1", "branch7x7_2", "branch7x7_3">(
                             make_basic_conv<B>(in, c7, {}), make_basic_conv<B>(c7, c7, row),
                             make_basic_conv<B>(c7, w(192), column)),
                         conv_chain<B, "branch7x7dbl_1", "branch7x7dbl_2", "branch7x7dbl_3", "branch7x7dbl_4",
                                    "branch7x7dbl_5">(
                             make_basic_conv<B>(in, c7, {}), make_basic_conv<B>(c7, c7, column),
                             make_basic_conv<B>(c7, c7, row), make_basic_conv<B>(c7, c7, column),
                             make_basic_conv<B>(c7, w(192), row)),
                         make_pool_branch<B>(in, w(192))),
          4 * w(192)};
}

template <class B>
built_block<inception_d<B>> make_inception_d(const inception_config& c, std::int64_t in) {
  const auto w = [&](std::int64_t v) { return c.width(v); };
  return {inception_d<B>(conv_chain<B, "branch3x3_1", "branch3x3_2">(
                             make_basic_conv<B>(in, w(192), {}),
                             make_basic_conv<B>(w(192), w(320), {.kernel = 3, .stride = 2})),
                         conv_chain<B, "branch7x7x3_1", "branch7x7x3_2", "branch7x7x3_3", "branch7x7x3_4">(
                             make_basic_conv<B>(in, w(192), {}),
                             make_basic_conv<B>(w(192), w(192), {.kernel = {1, 7}, .padding = {0, 3}}),
                             make_basic_conv<B>(w(192), w(192), {.kernel = {7, 1}, .padding = {3, 0}}),
                             make_basic_conv<B>(w(192), w(192), {.kernel = 3, .stride = 2})),
                         nn::max_pool2d<B>({.kernel = 3, .stride = 2})),
          w(320) + w(192) + in};
}

template <class B>
built_block<inception_e<B>> make_inception_e(const inception_config& c, std::int64_t in) {
  const auto w = [&](std::int64_t v) { return c.width(v); };
  const nn::conv2d_options row{.kernel = {1, 3}, .padding = {0, 1}}, column{.kernel = {3, 1}, .padding = {1, 0}};
  return {inception_e<B>(make_basic_conv<B>(in, w(320), {}),
                         e_branch3x3<B>(make_basic_conv<B>(in, w(384), {}),
                                        conv_pair<B, "branch3x3_2a", "branch3x3_2b">(
                                            make_basic_conv<B>(w(384), w(384), row),
                                            make_basic_conv<B>(w(384), w(384), column))),
                         e_branch3x3dbl<B>(make_basic_conv<B>(in, w(448), {}),
                                           make_basic_conv<B>(w(448), w(384), {.kernel = 3, .padding = 1}),
                                           conv_pair<B, "branch3x3dbl_3a", "branch3x3dbl_3b">(
                                               make_basic_conv<B>(w(384), w(384), row),
                                               make_basic_conv<B>(w(384), w(384), column))),
                         make_pool_branch<B>(in, w(192))),
          w(320) + 4 * w(384) + w(192)};
}

template <class B>
nn::linear<B> make_aux_fc(const inception_config& c, std::int64_t classes) {
  nn::linear<B> fc(c.width(768), classes);
  fc.weight().init = nn::init_rule::normal(0, 0.001);
  return fc;
}

template <class B>
inception_aux<B> make_inception_aux(const inception_config& c, std::int64_t in, std::int64_t classes) {
  return inception_aux<B>(nn::avg_pool2d<B>({.kernel = 5, .stride = 3}), make_basic_conv<B>(in, c.width(128), {}),
                          make_basic_conv<B>(c.width(128), c.width(768), {.kernel = 5}, 0.01),
                          nn::adaptive_avg_pool2d<B>(1), nn::flatten<B>{}, make_aux_fc<B>(c, classes));
}

// The map Conv2d_1a_3x3 folds in: torchvision's transform_input, after the gray path's normalisation.
inline std::optional<nn::input_map> inception_input_map(std::int64_t in_channels, bool transform_input) {
  if (in_channels == 3) return transform_input ? std::optional(imagenet::inception_transform()) : std::nullopt;
  const nn::input_map gray = imagenet::normalization(1);
  return transform_input ? gray.then(imagenet::inception_transform()) : gray;
}

// The body of Inception-V3: front (.. Mixed_6e), the optional auxiliary head, back (Mixed_7a .. features).
// The auxiliary head runs only in training, as torchvision's: its logits are read with aux_logits() after
// forward, and its loss gradient handed back with set_aux_gradient before backward (without one, no
// gradient flows through it, as when a loss ignores it).
template <class B, inception_config Config>
class inception_body {
 public:
  using backend = B;
  using tensor_type = tensor<B>;

  inception_body(std::int64_t classes, std::int64_t in_channels, const inception_options& o)
      : front_(make_front(in_channels, o)), back_(make_back(o)) {
    if (o.aux_logits) aux_.emplace(make_inception_aux<B>(Config, Config.width(768), classes));
  }

  shape output_shape(const shape& x) const { return back_.output_shape(front_.output_shape(x)); }

  tensor_type forward(context<B>& ctx, const tensor_type& x) {
    const tensor_type y = front_.forward(ctx, x);
    aux_out_.reset();
    aux_grad_.reset();
    aux_ran_ = false;
    if (aux_ && ctx.training) {
      const shape s = y.shape();
      require(s.h >= 17 && s.w >= 17, aux_type::name, ": Mixed_6e gives ", s, "; the auxiliary head needs maps of at least ",
              "17x17, that is inputs of at least 299x299 (build the network without aux_logits for smaller inputs)");
      aux_out_ = nn::within(aux_, [&](auto& aux) { return aux.forward(ctx, y); });
      aux_ran_ = ctx.record;
    }
    return back_.forward(ctx, y);
  }

  tensor_type backward(context<B>& ctx, const tensor_type& dy) {
    tensor_type d = back_.backward(ctx, dy);
    if (aux_ran_ && aux_grad_) {
      const tensor_type da = nn::within(aux_, [&](auto& aux) { return aux.backward(ctx, *aux_grad_); });
      d = ops::arithmetic<B>::add(ctx, d, da);
    }
    aux_grad_.reset();
    aux_ran_ = false;
    return front_.backward(ctx, d);
  }

  template <class V>
  void visit_parameters(V&& visit) {
    front_.visit_parameters(visit);
    nn::visit_children(visit, aux_);
    back_.visit_parameters(visit);
  }

  // The auxiliary logits of the last training forward, or null (no auxiliary head, or not training).
  const tensor_type* aux_logits() const { return aux_out_ ? &*aux_out_ : nullptr; }
  // The gradient of the loss with respect to aux_logits(), used by the next backward.
  void set_aux_gradient(tensor_type gradient) {
    require(aux_out_.has_value(), aux_type::name, ": set_aux_gradient without auxiliary logits from a training forward");
    require(gradient.shape() == aux_out_->shape(), aux_type::name, ": gradient ", gradient.shape(),
            " does not match the auxiliary logits ", aux_out_->shape());
    aux_grad_ = std::move(gradient);
  }
  bool has_aux() const { return aux_.has_value(); }

  void replace_aux_head(std::int64_t classes, std::uint64_t seed) {
    if (!aux_) return;
    nn::linear<B> fc = make_aux_fc<B>(Config, classes);
    nn::initialize(fc, seed);
    aux_->template get<5>() = std::move(fc);
  }
  std::vector<std::string> class_dependent_prefixes() const { return {nn::join_name(aux_type::name, "fc")}; }
  std::vector<std::string> optional_prefixes() const { return {std::string(aux_type::name)}; }

  nn::input_conv2d<B>& first_layer() { return front_.template get<0>().template get<0>(); }

  inception_front<B>& front() { return front_; }
  inception_back<B>& back() { return back_; }
  nn::optional_layer<inception_aux<B>>& aux() { return aux_; }

  static constexpr std::int64_t features() {
    return Config.width(320) + 4 * Config.width(384) + Config.width(192);
  }

 private:
  static inception_front<B> make_front(std::int64_t in_channels, const inception_options& o) {
    require(in_channels == 1 || in_channels == 3, "inception_v3: in_channels ", in_channels,
            " must be 1 (gray, ImageNet normalisation folded into Conv2d_1a_3x3) or 3 (normalised RGB)");
    const auto w = [](std::int64_t v) { return Config.width(v); };
    nn::input_conv2d<B> first(3, w(32), {.kernel = 3, .stride = 2, .bias = false},
                              inception_input_map(in_channels, o.transform_input));
    first.weight().init = nn::init_rule::normal(0, 0.1);
    auto a1 = make_inception_a<B>(Config, w(192), 32);
    auto a2 = make_inception_a<B>(Config, a1.channels, 64);
    auto a3 = make_inception_a<B>(Config, a2.channels, 64);
    auto b = make_inception_b<B>(Config, a3.channels);
    auto c1 = make_inception_c<B>(Config, b.channels, 128);
    auto c2 = make_inception_c<B>(Config, c1.channels, 160);
    auto c3 = make_inception_c<B>(Config, c2.channels, 160);
    auto c4 = make_inception_c<B>(Config, c3.channels, 192);
    return inception_front<B>(
        basic_input_conv<B>(std::move(first), nn::batch_norm2d<B>(w(32), {.eps = 1e-3}), nn::relu<B>{}),
        make_basic_conv<B>(w(32), w(32), {.kernel = 3}),
        make_basic_conv<B>(w(32), w(64), {.kernel = 3, .padding = 1}), nn::max_pool2d<B>({.kernel = 3, .stride = 2}),
        make_basic_conv<B>(w(64), w(80), {}), make_basic_conv<B>(w(80), w(192), {.kernel = 3}),
        nn::max_pool2d<B>({.kernel = 3, .stride = 2}), std::move(a1.block), std::move(a2.block), std::move(a3.block),
        std::move(b.block), std::move(c1.block), std::move(c2.block), std::move(c3.block), std::move(c4.block));
  }

  static inception_back<B> make_back(const inception_options& o) {
    require(o.dropout >= 0 && o.dropout <= 1, "inception_v3: dropout ", o.dropout, " is outside [0, 1]");
    auto d = make_inception_d<B>(Config, 4 * Config.width(192));
    auto e1 = make_inception_e<B>(Config, d.channels);
    auto e2 = make_inception_e<B>(Config, e1.channels);
    return inception_back<B>(std::move(d.block), std::move(e1.block), std::move(e2.block),
                             nn::adaptive_avg_pool2d<B>(1), nn::dropout<B>(o.dropout), nn::flatten<B>{});
  }

  // The auxiliary head under torchvision's name, written only here.
  using aux_type = nn::named<"AuxLogits", nn::optional_layer<inception_aux<B>>>;

  inception_front<B> front_;
  aux_type aux_;
  inception_back<B> back_;
  std::optional<tensor_type> aux_out_, aux_grad_;
  bool aux_ran_ = false;
};

}  // namespace detail

// torchvision.models.Inception3: Conv2d_1a_3x3 .. Mixed_7c (BasicConv2d = conv without bias, BatchNorm
// with eps 1e-3, ReLU), avgpool (global), dropout, fc; AuxLogits after Mixed_6e when asked for. The
// penultimate features are the 2048 values after avgpool and dropout (identity in evaluation): the pool3
// features of FID's Inception.
//   in_channels 3: normalised RGB, exactly torchvision's network (with transform_input as torchvision's).
//   in_channels 1: gray on [0, 1]; Conv2d_1a_3x3 folds in the replication to RGB, ImageNet's normalisation
//                  and transform_input (its weight stays (32, 3, 3, 3), so RGB weight files load unchanged).
// Inputs must be at least 75x75 (299x299 with the auxiliary head, in training).
template <class B, inception_config Config>
class inception : public classifier<detail::inception_body<B, Config>, "fc"> {
  static_assert(Config.divisor >= 1, "inception<B, Config>: Config.divisor must be >= 1");
  using base = classifier<detail::inception_body<B, Config>, "fc">;

 public:
  explicit inception(std::int64_t num_classes = 1000, std::int64_t in_channels = 3, inception_options options = {})
      : base(Config == inception_v3_config ? "inception_v3" : "inception",
             [&] { return detail::inception_body<B, Config>(checked_classes(num_classes), in_channels, options); },
             detail::inception_body<B, Config>::features(), num_classes, in_channels, 75,
             head_init{nn::init_rule::normal(0, 0.1), std::nullopt}),
        options_(options) {}

  static constexpr inception_config config = Config;

  // The auxiliary head (see inception_body): logits of the last training forward, or null.
  const tensor<B>* aux_logits() const { return this->body().aux_logits(); }
  void set_aux_gradient(tensor<B> gradient) { this->body().set_aux_gradient(std::move(gradient)); }
  bool has_aux() const { return this->body().has_aux(); }
  const inception_options& options() const { return options_; }

  nn::input_conv2d<B>& first_layer() { return this->body().first_layer(); }
  void set_input_gradient(bool on) { first_layer().set_input_gradient(on); }

 private:
  static std::int64_t checked_classes(std::int64_t classes) {
    require(classes > 0, "inception_v3: num_classes must be positive, got ", classes);
    return classes;
  }
  inception_options options_;
};

template <class B>
using inception_v3 = inception<B, inception_v3_config>;

}  // namespace models
FERGEN_END_NAMESPACE
