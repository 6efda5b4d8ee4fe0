// Part of the two-translation-unit test: both units include the whole library; if any non-template function
// lacked `inline`, or a library header defined a global, the link would fail with duplicate symbols.
#include <fergen/fergen.hpp>

#include <cstdio>

fergen::shape run_in_unit_b();

int main() {
  using B = fergen::cpu<float>;
  fergen::nn::sequential net{fergen::nn::conv2d<B>(1, 4, {.kernel = 3, .padding = 1}), fergen::nn::relu<B>{}};
  fergen::nn::initialize(net, 1);
  auto ctx = fergen::context<B>::eval();
  const auto a = net.forward(ctx, fergen::tensor<B>({1, 1, 8, 8}));
  const auto b = run_in_unit_b();
  std::printf("unit a: %s, unit b: %s\n", fergen::to_string(a.shape()).c_str(), fergen::to_string(b).c_str());
  return a.shape() == b ? 0 : 1;
}
