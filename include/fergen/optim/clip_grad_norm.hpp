// fergen/optim/clip_grad_norm.hpp: scaling gradients down to a maximum total norm (torch.nn.utils.clip_grad_norm_).
#pragma once

#include <fergen/backend/arithmetic.hpp>
#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/arithmetic.hpp>
#include <fergen/backend/cpu/optimizer_steps.hpp>
#include <fergen/backend/optimizer_steps.hpp>
#include <fergen/core/error.hpp>
#include <fergen/nn/parameter.hpp>
#include <fergen/nn/parameters.hpp>

#include <cmath>
#include <concepts>
#include <string>
#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace optim {

// torch.nn.utils.clip_grad_norm_(parameters, max_norm) with norm_type 2, over the gradients of the
// parameters that are not frozen (torch: those whose grad is not None):
//   total = sqrt(sum of squares of all those gradients)
//   coef = max_norm / (total + 1e-6); when coef < 1, every gradient is multiplied by coef
// torch multiplies by min(coef, 1) unconditionally, which is the same thing; note that a total just below
// max_norm (within 1e-6) is still scaled, slightly. Squares are summed in double whatever the element type.
// Returns the total norm before clipping, for logging. A non-finite total (exploded gradients, a NaN loss)
// is a fergen::error naming the first offending parameter, and no gradient is changed: torch's
// error_if_nonfinite=True, because scaling by a NaN would silently destroy the weights at the next step.
template <class Ctx, class Net>
double clip_grad_norm(Ctx& ctx, Net& net, double max_norm) {
  using B = typename Net::backend;
  static_assert(std::same_as<Ctx, context<B>>, "clip_grad_norm: the context is for another backend than the network");
  require(std::isfinite(max_norm) && max_norm > 0, "clip_grad_norm: max_norm = ", max_norm,
          " must be a finite value > 0");
  double sum = 0;
  std::string first_non_finite;
  nn::for_each_parameter(net, [&](std::string_view name, nn::parameter<B>& p) {
    if (p.frozen) return;
    const double squares = ops::arithmetic<B>::sum_squares(ctx, p.grad);
    if (!std::isfinite(squares) && first_non_finite.empty()) first_non_finite = name;
    sum += squares;
  });
  const double total = std::sqrt(sum);
  if (!std::isfinite(total)) {
    if (first_non_finite.empty())
      fail("clip_grad_norm: the total gradient norm overflows (", total,
           "): the gradients exploded; every parameter's own norm is finite");
    fail("clip_grad_norm: the total gradient norm is ", total, ": the gradients exploded or the loss is not ",
         "finite; the first parameter with a non-finite gradient norm is '", first_non_finite, "'");
  }
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1) {
    nn::for_each_parameter(net, [&](std::string_view, nn::parameter<B>& p) {
      if (!p.frozen) ops::optimizer_steps<B>::scale(ctx, p.grad, coef);
    });
  }
  return total;
}

}  // namespace optim
FERGEN_END_NAMESPACE
