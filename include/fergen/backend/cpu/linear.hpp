// fergen/backend/cpu/linear.hpp: the fully connected op on the CPU, three matrix products.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/blas.hpp>
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/backend/linear.hpp>
#include <fergen/core/parallel.hpp>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <real T>
struct linear<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;
  using context_type = context<cpu<T>>;

  static tensor_type forward(context_type&, const tensor_type& x, const tensor_type& weight, const tensor_type* bias) {
    const shape xs = x.shape(), ws = weight.shape();
    require(xs.per_sample() == ws.c, "linear: input ", xs, " has ", xs.per_sample(), " features, the weight (",
            ws.n, ", ", ws.c, ") expects ", ws.c);
    tensor_type y = tensor_type::uninitialized({xs.n, ws.n, 1, 1});
    T beta = 0;
    if (bias) {
      for (std::int64_t n = 0; n < xs.n; ++n) std::copy_n(bias->data(), ws.n, y.data() + n * ws.n);
      beta = 1;
    }
    cpu_blas::parallel_gemm(false, true, xs.n, ws.n, ws.c, T{1}, x.data(), ws.c, weight.data(), ws.c, beta, y.data(),
                            ws.n);
    return y;
  }

  static tensor_type backward_data(context_type&, const tensor_type& dy, const tensor_type& weight) {
    const shape ys = dy.shape(), ws = weight.shape();
    require(ys.per_sample() == ws.n, "linear backward: gradient ", ys, " does not match ", ws.n, " outputs");
    tensor_type dx = tensor_type::uninitialized({ys.n, ws.c, 1, 1});
    cpu_blas::parallel_gemm(false, false, ys.n, ws.c, ws.n, T{1}, dy.data(), ws.n, weight.data(), ws.c, T{0},
                            dx.data(), ws.c);
    return dx;
  }

  static void backward_weight(context_type&, const tensor_type& dy, const tensor_type& x, tensor_type* dweight,
                              tensor_type* dbias) {
    const shape ys = dy.shape(), xs = x.shape();
    const std::int64_t out = ys.per_sample(), in = xs.per_sample();
    if (dweight) {
      require(dweight->size() == out * in, "linear backward: weight gradient ", dweight->shape(), " for ", out,
              " outputs and ", in, " inputs");
      cpu_blas::parallel_gemm(true, false, out, in, ys.n, T{1}, dy.data(), out, x.data(), in, T{1}, dweight->data(),
                              in);
    }
    if (dbias) {
      T* db = dbias->data();
      parallel_for(out, [&](std::int64_t o) {
        double sum = 0;
        for (std::int64_t n = 0; n < ys.n; ++n) sum += dy.data()[n * out + o];
        db[o] += static_cast<T>(sum);
      }, 256);
    }
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
