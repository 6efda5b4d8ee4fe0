// fergen/models/classifier.hpp: a backbone as a feature extractor (the body) and a linear head.
#pragma once

#include <fergen/core/traits.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/layer.hpp>
#include <fergen/nn/linear.hpp>
#include <fergen/nn/named.hpp>
#include <fergen/nn/visitor_ref.hpp>

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace models {

// What a backbone offers besides the layer contract: its penultimate features (the input of the head,
// [N, F, 1, 1]: for KID/FID in the classifier's feature space and for linear probes), the head itself, and
// the sizes it accepts.
template <class Net>
concept classifier_network =
    nn::layer<Net> && requires(Net& net, const Net& cnet, context<typename Net::backend>& ctx,
                               const tensor<typename Net::backend>& x) {
      { net.forward_features(ctx, x) } -> std::same_as<tensor<typename Net::backend>>;
      { net.backward_features(ctx, x) } -> std::same_as<tensor<typename Net::backend>>;
      { cnet.feature_count() } -> std::same_as<std::int64_t>;
      { cnet.num_classes() } -> std::same_as<std::int64_t>;
      { cnet.in_channels() } -> std::same_as<std::int64_t>;
      { cnet.min_input_size() } -> std::same_as<std::int64_t>;
      { cnet.name() } -> std::convertible_to<std::string_view>;
      { net.head() } -> std::same_as<nn::linear<typename Net::backend>&>;
      net.replace_head(std::int64_t{}, std::uint64_t{});
      net.set_input_gradient(true);  // the first layer skips its input's gradient when false (training)
    };

// How the head's parameters are initialised (torchvision's rule for each family).
struct head_init {
  std::optional<nn::init_rule> weight;  // nullopt: nn::linear's default, uniform in +-1/sqrt(in)
  std::optional<nn::init_rule> bias;
};

// classifier<Body, "fc">: y = head(body(x)), with the head's parameters named "fc.weight", "fc.bias". The
// body ends in global pooling and a flatten, so forward_features gives [N, F, 1, 1].
//
// A body may offer more, and the classifier passes it on:
//   aux_logits(), set_aux_gradient(dy)   an auxiliary head that runs in training (Inception-V3)
//   replace_aux_head(classes, seed)      and its own class-dependent part
//   class_dependent_prefixes()           names whose shapes follow num_classes besides the head
//   optional_prefixes()                  parameters a weight file may or may not hold (AuxLogits)
template <class Body, fixed_string HeadName>
class classifier {
  static_assert(nn::check_layer<Body>(), "classifier<Body, Head>: Body must be a fergen layer (see above)");

 public:
  using backend = typename Body::backend;
  using body_type = Body;
  using head_type = nn::linear<backend>;
  using tensor_type = tensor<backend>;
  static constexpr std::string_view head_name{HeadName.c_str(), HeadName.length()};

  // name: how messages call the network ("resnet50"); make_body() builds the body in place (a body of a
  // few hundred layers is not moved); min_input_size: the smallest height and width it accepts (checked up
  // front, so a small image is an error naming the network, not a deep layer).
  template <class MakeBody>
    requires std::is_invocable_r_v<Body, MakeBody&>
  classifier(std::string name, MakeBody&& make_body, std::int64_t features, std::int64_t classes,
             std::int64_t in_channels, std::int64_t min_input_size, head_init init = {})
      : name_(std::move(name)), body_(make_body()), head_(make_head(features, classes, init)), features_(features),
        in_channels_(in_channels), min_input_(min_input_size), init_(init) {}

  shape output_shape(const shape& x) const { return head_.output_shape(features_shape(x)); }

  // [N, feature_count(), 1, 1]: the input of the head.
  shape features_shape(const shape& x) const {
    check_input(x);
    const shape f = body_.output_shape(x);
    require(f == shape{x.n, features_, 1, 1}, name_, ": the body gives ", f, " for input ", x, ", expected [", x.n,
            ", ", features_, ", 1, 1]");
    return f;
  }

  tensor_type forward(context<backend>& ctx, const tensor_type& x) {
    const tensor_type f = forward_features(ctx, x);
    return nn::in_child([] { return std::string(head_name); }, [&] { return head_.forward(ctx, f); });
  }

  tensor_type backward(context<backend>& ctx, const tensor_type& dy) {
    const tensor_type df = nn::in_child([] { return std::string(head_name); }, [&] { return head_.backward(ctx, dy); });
    return backward_features(ctx, df);
  }

  tensor_type forward_features(context<backend>& ctx, const tensor_type& x) {
    check_input(x.shape());
    return body_.forward(ctx, x);
  }

  // dfeatures [N, F, 1, 1] -> dx, after forward_features (or forward) with ctx.record.
  tensor_type backward_features(context<backend>& ctx, const tensor_type& dfeatures) {
    return body_.backward(ctx, dfeatures);
  }

  // Through one visitor type (nn::visitor_ref): the network's visiting tree is compiled once, not once
  // per visitor.
  template <class V>
  void visit_parameters(V&& visit) {
    visit_all(nn::visitor_ref<backend>(visit));
  }
  void visit_all(nn::visitor_ref<backend> visit) {
    body_.visit_parameters(visit);
    auto inner = nn::prefixed(std::string(head_name), visit);
    head_.visit_parameters(inner);
  }

  // A new head for `classes` classes, initialised by the family's rule from `seed` (the rest of the network
  // keeps its values). An auxiliary head, if the body has one, is replaced too.
  void replace_head(std::int64_t classes, std::uint64_t seed) {
    head_type head = make_head(features_, classes, init_);
    nn::initialize(head, seed);
    head_ = std::move(head);
    if constexpr (requires { body_.replace_aux_head(classes, seed); }) body_.replace_aux_head(classes, seed + 1);
  }

  // Names (or name prefixes followed by '.') of the parameters whose shapes depend on num_classes.
  std::vector<std::string> class_dependent_prefixes() const {
    std::vector<std::string> p{std::string(head_name)};
    if constexpr (requires { body_.class_dependent_prefixes(); })
      for (auto& s : body_.class_dependent_prefixes()) p.push_back(std::move(s));
    return p;
  }
  std::vector<std::string> optional_prefixes() const {
    if constexpr (requires { body_.optional_prefixes(); }) {
      return body_.optional_prefixes();
    } else {
      return {};
    }
  }

  Body& body() { return body_; }
  const Body& body() const { return body_; }
  head_type& head() { return head_; }
  std::int64_t feature_count() const { return features_; }
  std::int64_t num_classes() const { return head_.out_features(); }
  std::int64_t in_channels() const { return in_channels_; }
  std::int64_t min_input_size() const { return min_input_; }
  const std::string& name() const { return name_; }
  // Another name for messages and progress lines ("resnet50_small").
  void rename(std::string name) { name_ = std::move(name); }

 private:
  static head_type make_head(std::int64_t features, std::int64_t classes, const head_init& init) {
    require(classes > 0, "classifier: num_classes must be positive, got ", classes);
    head_type head(features, classes);
    if (init.weight) head.weight().init = *init.weight;
    if (init.bias && head.bias()) head.bias()->init = *init.bias;
    return head;
  }

  void check_input(const shape& x) const {
    require(x.c == in_channels_, name_, ": input ", x, " has ", x.c, " channels; this network was built for ",
            in_channels_, in_channels_ == 1 ? " (gray, ImageNet normalisation folded in)" : " (normalised RGB)");
    require(x.h >= min_input_ && x.w >= min_input_, name_, ": input ", x, " is ", x.h, "x", x.w, "; ", name_,
            " needs at least ", min_input_, "x", min_input_, " pixels");
  }

  std::string name_;
  Body body_;
  head_type head_;
  std::int64_t features_;
  std::int64_t in_channels_;
  std::int64_t min_input_;
  head_init init_;
};

}  // namespace models
FERGEN_END_NAMESPACE
