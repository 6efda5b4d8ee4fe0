// 02_gradient_check: how fergen knows that every backward pass is right.
//
// fergen has no automatic differentiation: each layer's backward is written by hand. This program shows the
// check every layer passes in the test suite. For a random input x and a random "upstream gradient" r, the
// scalar L(x) = sum(r * layer(x)) has the gradient dL/dx = layer.backward(r), and dL/dparam is what backward
// accumulates into each parameter's grad. Both are compared with central differences
//     dL/dv ~ (L(v + h) - L(v - h)) / 2h
// in double precision, where the two agree to about 1e-9 when backward is right.
//
//   02_gradient_check
#include <fergen/fergen.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace nn = fergen::nn;
using B = fergen::cpu<double>;  // gradient checks run in double: float's rounding would swamp h

namespace {

using tensor = fergen::tensor<B>;

tensor random_tensor(fergen::shape s, std::uint64_t seed) {
  tensor t = tensor::uninitialized(s);
  const fergen::random_stream stream = fergen::generator(seed).take();
  for (std::int64_t i = 0; i < t.size(); ++i) t.data()[i] = stream.normal(static_cast<std::uint64_t>(i));
  return t;
}

// L(x) = sum(r * net(x)), evaluated without recording anything for backward.
template <class Net>
double objective(Net& net, const tensor& x, const tensor& r) {
  auto ctx = fergen::context<B>::train();
  ctx.record = false;
  const tensor y = net.forward(ctx, x);
  double sum = 0;
  for (std::int64_t i = 0; i < y.size(); ++i) sum += y.data()[i] * r.data()[i];
  return sum;
}

// The largest relative disagreement between analytic and numeric derivatives over the values of one tensor.
template <class Net>
double worst_error(Net& net, double* values, const double* analytic, std::int64_t count, const tensor& x,
                   const tensor& r) {
  const double h = 1e-6;
  double worst = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    const double saved = values[i];
    values[i] = saved + h;
    const double up = objective(net, x, r);
    values[i] = saved - h;
    const double down = objective(net, x, r);
    values[i] = saved;
    const double numeric = (up - down) / (2 * h);
    worst = std::max(worst, std::abs(analytic[i] - numeric) / std::max({1.0, std::abs(analytic[i]), std::abs(numeric)}));
  }
  return worst;
}

}  // namespace

int main() {
  // A residual block: two convolutions with a SiLU between them, added to the input (the shortcut is the
  // identity), then a GELU. Every layer and composite on the way has a hand-written backward.
  nn::sequential net{
      nn::residual<nn::sequential<nn::conv2d<B>, nn::silu<B>, nn::conv2d<B>>>(nn::sequential{
          nn::conv2d<B>(3, 4, {.kernel = 3, .padding = 1}), nn::silu<B>{}, nn::conv2d<B>(4, 3, {.kernel = {1, 3}, .padding = {0, 1}})}),
      nn::gelu<B>{}};
  nn::initialize(net, 1);

  const tensor x = random_tensor({2, 3, 5, 5}, 2);
  auto ctx = fergen::context<B>::train();
  const tensor y = net.forward(ctx, x);
  const tensor r = random_tensor(y.shape(), 3);
  nn::zero_grad(net);
  const tensor dx = net.backward(ctx, r);

  std::printf("gradient check of a residual block, input %s, output %s\n", fergen::to_string(x.shape()).c_str(),
              fergen::to_string(y.shape()).c_str());
  std::printf("%-22s %8s %16s\n", "tensor", "values", "worst rel. error");
  tensor probe = x.clone();
  bool ok = true;
  const double input_error = worst_error(net, probe.data(), dx.data(), probe.size(), probe, r);
  std::printf("%-22s %8lld %16.2e\n", "input", static_cast<long long>(probe.size()), input_error);
  ok = ok && input_error < 1e-6;
  nn::for_each_parameter(net, [&](std::string_view name, nn::parameter<B>& p) {
    const double e = worst_error(net, p.value.data(), p.grad.data(), p.value.size(), probe, r);
    std::printf("%-22s %8lld %16.2e\n", std::string(name).c_str(), static_cast<long long>(p.value.size()), e);
    ok = ok && e < 1e-6;
  });
  std::printf("%s\n", ok ? "every derivative agrees with its finite difference" : "MISMATCH: a backward pass is wrong");
  return ok ? 0 : 1;
}
