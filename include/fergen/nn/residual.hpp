// fergen/nn/residual.hpp: y = main(x) + shortcut(x).
#pragma once

#include <fergen/backend/arithmetic.hpp>
#include <fergen/backend/cpu/arithmetic.hpp>
#include <fergen/nn/identity.hpp>
#include <fergen/nn/layer.hpp>
#include <fergen/nn/named.hpp>

#include <concepts>
#include <utility>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// residual<Main, Shortcut>: the two paths see the same input and their outputs are added (ResNet blocks,
// UNet residual blocks). Children are named "0" (main) and "1" (shortcut) unless named<>:
// torchvision's Bottleneck is residual<named<"", main path>, named<"downsample", projection>>.
// An activation after the sum (ReLU in ResNet) is the next layer of the enclosing sequential.
template <class Main, class Shortcut = identity<typename Main::backend>>
class residual {
  static_assert(check_layer<Main>(), "residual<Main, Shortcut>: Main must be a fergen layer (see above)");
  static_assert(check_layer<Shortcut>(), "residual<Main, Shortcut>: Shortcut must be a fergen layer (see above)");

 public:
  using backend = typename Main::backend;
  static_assert(std::same_as<typename Shortcut::backend, backend>,
                "residual<Main, Shortcut>: both paths must run on the same backend");

  residual()
    requires std::default_initializable<Main> && std::default_initializable<Shortcut>
  = default;
  explicit residual(Main main, Shortcut shortcut = Shortcut{})
      : main_(std::move(main)), shortcut_(std::move(shortcut)) {}

  Main& main() { return main_; }
  Shortcut& shortcut() { return shortcut_; }

  shape output_shape(const shape& x) const {
    const shape a = in_child(main_name, [&] { return main_.output_shape(x); });
    const shape b = in_child(shortcut_name, [&] { return shortcut_.output_shape(x); });
    require(a == b, "residual: the main path gives ", a, " but the shortcut gives ", b, " for input ", x);
    return a;
  }

  tensor<backend> forward(context<backend>& ctx, const tensor<backend>& x) {
    const tensor<backend> a = in_child(main_name, [&] { return main_.forward(ctx, x); });
    const tensor<backend> b = in_child(shortcut_name, [&] { return shortcut_.forward(ctx, x); });
    require(a.shape() == b.shape(), "residual: the main path gives ", a.shape(), " but the shortcut gives ",
            b.shape(), " for input ", x.shape());
    return ops::arithmetic<backend>::add(ctx, a, b);
  }

  tensor<backend> backward(context<backend>& ctx, const tensor<backend>& dy) {
    const tensor<backend> da = in_child(main_name, [&] { return main_.backward(ctx, dy); });
    const tensor<backend> db = in_child(shortcut_name, [&] { return shortcut_.backward(ctx, dy); });
    return ops::arithmetic<backend>::add(ctx, da, db);
  }

  template <class V>
  void visit_parameters(V&& visit) {
    auto main_visitor = prefixed(main_name(), visit);
    main_.visit_parameters(main_visitor);
    auto shortcut_visitor = prefixed(shortcut_name(), visit);
    shortcut_.visit_parameters(shortcut_visitor);
  }

 private:
  static std::string main_name() { return child_name<Main>(0); }
  static std::string shortcut_name() { return child_name<Shortcut>(1); }

  Main main_;
  Shortcut shortcut_;
};

}  // namespace nn
FERGEN_END_NAMESPACE
