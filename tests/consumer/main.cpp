// The consumer project's program: builds a small network, trains it one step and prints its output shape.
#include <fergen/fergen.hpp>

#include <cstdio>
#include <vector>

int main() {
  using B = fergen::cpu<float>;
  namespace nn = fergen::nn;
  nn::sequential net{nn::conv2d<B>(1, 8, {.kernel = 3, .padding = 1}), nn::relu<B>{},
                     nn::adaptive_avg_pool2d<B>({1, 1}), nn::flatten<B>{}, nn::linear<B>(8, 3)};
  nn::initialize(net, 42);
  auto ctx = fergen::context<B>::train(1);
  const auto logits = net.forward(ctx, fergen::tensor<B>::full({2, 1, 6, 6}, 0.5f));
  const std::vector<std::int64_t> labels{0, 2};
  const auto loss = nn::cross_entropy(ctx, logits, labels);
  net.backward(ctx, loss.gradient);
  std::printf("fergen %s consumer: logits %s, loss %.4f\n", FERGEN_VERSION_STRING,
              fergen::to_string(logits.shape()).c_str(), loss.value);
  return logits.shape() == fergen::shape{2, 3, 1, 1} ? 0 : 1;
}
