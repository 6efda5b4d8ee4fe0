// The second unit of the two-translation-unit test (see two_units_a.cpp).
#include <fergen/fergen.hpp>

fergen::shape run_in_unit_b() {
  using B = fergen::cpu<float>;
  fergen::nn::sequential net{fergen::nn::conv2d<B>(1, 4, {.kernel = 3, .padding = 1}), fergen::nn::relu<B>{}};
  fergen::nn::initialize(net, 1);
  auto ctx = fergen::context<B>::eval();
  return net.forward(ctx, fergen::tensor<B>({1, 1, 8, 8})).shape();
}
