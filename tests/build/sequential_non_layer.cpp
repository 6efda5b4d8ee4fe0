// Compile-fail test: a type that is not a layer inside sequential<> must be rejected by a static_assert
// whose text says what is missing (tests/CMakeLists.txt checks the compiler's output for that sentence).
#include <fergen/nn/activation.hpp>
#include <fergen/nn/sequential.hpp>

struct not_a_layer {};

int main() {
  fergen::nn::sequential<fergen::nn::relu<fergen::cpu<float>>, not_a_layer> net;
  (void)net;
}
