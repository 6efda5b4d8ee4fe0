// Compile-fail test: an op used on a backend that has no kernel for it (CUDA in a g++ build) must stop the
// compilation with the op's own sentence, not with a wall of substitution failures.
#include <fergen/backend/context.hpp>
#include <fergen/backend/conv2d.hpp>

int main() {
  using B = fergen::cuda<float>;
  (void)sizeof(fergen::ops::conv2d<B>);
}
