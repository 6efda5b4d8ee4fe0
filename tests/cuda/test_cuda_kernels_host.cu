// The CUDA backend's kernels executed on the host, where there is no GPU: every function object the backend
// launches is FERGEN_HD, and the ops made of several kernels are written against an engine
// (backend/cuda/kernels/engine.cuh). Here a host engine runs them in loops and their products through
// OpenBLAS's column-major interface, with cuda_blas::column_major's mapping, and the results are compared with
// the CPU backend. What this cannot check: the launches themselves (grids, streams), the block and warp
// reductions' shared memory, cuBLAS and cuDNN. test_cuda checks those on a GPU.
//
// Its own doctest main: the executable is all CUDA, so no object compiled with the C++ flags (a sanitizer build's)
// is linked by nvcc's rules.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "cuda_support.hpp"

#include <cblas.h>
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>
#include <vector>

using namespace fergen;
using namespace fergen::testing;
namespace ck = fergen::ops::cuda_kernels;

namespace {

// Temporary memory of the host engine, filled with NaN so that a pass reading what no pass wrote shows.
struct host_allocation {
  std::vector<double> storage;
  void* get() const { return const_cast<double*>(storage.data()); }
};

class host_engine {
 public:
  std::size_t limit = std::size_t{1} << 30;

  template <class F>
  void for_each(std::int64_t n, const F& f, std::string_view) {
    for (std::int64_t i = 0; i < n; ++i) f(i);
  }

  template <int K, class Load, class Finish>
  void segment_sums(std::int64_t segments, std::int64_t length, const Load& load, const Finish& finish,
                    std::string_view) {
    for (std::int64_t s = 0; s < segments; ++s) {
      ck::sums<K> total{};
      for (std::int64_t e = 0; e < length; ++e) ck::add_into(total, load(s, e));
      finish(s, total);
    }
  }

  host_allocation allocate(std::size_t bytes, std::string_view) {
    return {std::vector<double>((bytes + sizeof(double) - 1) / sizeof(double), std::nan(""))};
  }

  // Host values into an allocation: the device engine's cudaMemcpyAsync.
  void upload(void* into, const void* from, std::size_t bytes) {
    if (bytes > 0) std::memcpy(into, from, bytes);
  }

  void* scratch(std::size_t bytes) {
    if (scratch_.size() * sizeof(float) < bytes) scratch_.assign((bytes + sizeof(float) - 1) / sizeof(float), NAN);
    return scratch_.data();
  }
  std::size_t workspace_limit() const { return limit; }

  // The product as cuBLAS receives it.
  void gemm(const ops::cuda_blas::gemm_args& row_major) {
    if (row_major.m == 0 || row_major.n == 0 || row_major.batch == 0) return;
    const auto g = ops::cuda_blas::column_major(row_major);
    const auto i = [](std::int64_t v) { return static_cast<blasint>(v); };
    for (std::int64_t b = 0; b < g.batch; ++b)
      cblas_sgemm(CblasColMajor, g.trans_a ? CblasTrans : CblasNoTrans, g.trans_b ? CblasTrans : CblasNoTrans, i(g.m),
                  i(g.n), i(g.k), g.alpha, g.a + b * g.stride_a, i(g.lda), g.b + b * g.stride_b, i(g.ldb), g.beta,
                  g.c + b * g.stride_c, i(g.ldc));
  }

 private:
  std::vector<float> scratch_;
};

// Both sides are OpenBLAS in float, blocked differently: agreement to float rounding.
constexpr double host_tolerance = 1e-5;

#define CHECK_HOST_CLOSE(ours, theirs, what)                                    \
  do {                                                                          \
    const double difference_ = relative_difference(ours, theirs);              \
    INFO((what), ": relative difference ", difference_);                        \
    CHECK(difference_ <= host_tolerance);                                       \
  } while (false)

}  // namespace

TEST_CASE("host-run kernels: conv2d by im2col + gemm (whole batch, chunked, pointwise) matches the CPU") {
  struct conv_case {
    shape x;
    std::int64_t out;
    size2 kernel, stride, pad, dilation;
  };
  auto ctx = context<host>::train();
  for (const auto& c : {conv_case{{2, 3, 20, 20}, 8, 7, 2, 3, 1}, conv_case{{3, 16, 10, 10}, 12, 1, 1, 0, 1},
                        conv_case{{3, 16, 10, 10}, 12, 1, 2, 0, 1}, conv_case{{2, 8, 9, 9}, 8, 3, 1, 1, 1},
                        conv_case{{2, 8, 9, 9}, 8, 3, 2, 0, 1}, conv_case{{2, 6, 9, 9}, 8, {1, 7}, 1, {0, 3}, 1},
                        conv_case{{2, 6, 9, 9}, 8, {7, 1}, 1, {3, 0}, 1}, conv_case{{3, 5, 12, 11}, 7, 3, 1, 2, 2},
                        conv_case{{5, 4, 13, 8}, 5, {2, 3}, {3, 2}, {1, 0}, 1}, conv_case{{1, 20, 6, 6}, 9, 1, 1, 0, 1}}) {
    const ops::conv2d_geometry g{c.kernel.h, c.kernel.w, c.stride.h, c.stride.w, c.pad.h, c.pad.w, c.dilation.h,
                                 c.dilation.w};
    const shape ws{c.out, c.x.c, c.kernel.h, c.kernel.w}, ys = g.output(c.x, c.out);
    const host_tensor x = random_host(c.x, 1), w = random_host(ws, 2), dy = random_host(ys, 3), dw0 = random_host(ws, 4);
    const host_tensor y = ops::conv2d<host>::forward(ctx, x, w, nullptr, g);
    const host_tensor dx = ops::conv2d<host>::backward_data(ctx, dy, w, c.x, g);
    host_tensor dw = dw0.clone();
    ops::conv2d<host>::backward_weight(ctx, dy, x, g, &dw, nullptr);
    const std::int64_t k = ws.c * ws.h * ws.w, p = ys.h * ys.w;
    // The whole batch in one chunk, chunks of about two images (uneven at the end), chunks of one image.
    for (const std::size_t limit : {std::size_t{1} << 30, static_cast<std::size_t>(2 * (k + c.out) * p * 4), std::size_t{4}}) {
      INFO("input ", c.x, ", weight ", ws, ", workspace limit ", limit);
      host_engine e;
      e.limit = limit;
      host_tensor ours = host_tensor::uninitialized(ys);
      ops::cuda_conv::gemm_forward(e, x.data(), c.x, w.data(), ws, ours.data(), ys, g);
      CHECK_HOST_CLOSE(ours, y, "forward");
      host_tensor ours_dx = host_tensor::uninitialized(c.x);
      ops::cuda_conv::gemm_backward_data(e, dy.data(), ys, w.data(), ws, ours_dx.data(), c.x, g);
      CHECK_HOST_CLOSE(ours_dx, dx, "data gradient");
      host_tensor ours_dw = dw0.clone();
      ops::cuda_conv::gemm_backward_filter(e, x.data(), c.x, dy.data(), ys, ours_dw.data(), ws, g);
      CHECK_HOST_CLOSE(ours_dw, dw, "weight gradient");
    }
    // The bias passes.
    const host_tensor b = random_host({c.out, 1, 1, 1}, 5);
    host_tensor with_bias = y.clone(), db({c.out, 1, 1, 1}), ours_db({c.out, 1, 1, 1});
    host_engine e;
    e.for_each(y.size(), ck::add_channels{with_bias.data(), b.data(), ys.c, ys.plane()}, "");
    CHECK_HOST_CLOSE(with_bias, ops::conv2d<host>::forward(ctx, x, w, &b, g), "forward with bias");
    ops::conv2d<host>::backward_weight(ctx, dy, x, g, nullptr, &db);
    ck::accumulate_channel_sums(e, dy.data(), ys.n, ys.c, ys.plane(), ours_db.data(), "");
    CHECK_HOST_CLOSE(ours_db, db, "bias gradient");
  }
}

TEST_CASE("host-run kernels: linear's products and bias match the CPU") {
  auto ctx = context<host>::train();
  for (const bool bias : {true, false}) {
    const std::int64_t n = 5, in = 37, out = 11;
    const host_tensor x = random_host({n, in, 1, 1}, 1), w = random_host({out, in, 1, 1}, 2);
    const host_tensor b = random_host({out, 1, 1, 1}, 3), dy = random_host({n, out, 1, 1}, 4);
    host_engine e;
    host_tensor y = host_tensor::uninitialized({n, out, 1, 1});
    ops::cuda_linear::forward(e, x.data(), n, in, w.data(), out, bias ? b.data() : nullptr, y.data());
    CHECK_HOST_CLOSE(y, ops::linear<host>::forward(ctx, x, w, bias ? &b : nullptr), "forward");
    host_tensor dx = host_tensor::uninitialized({n, in, 1, 1});
    ops::cuda_linear::backward_data(e, dy.data(), n, out, w.data(), in, dx.data());
    CHECK_HOST_CLOSE(dx, ops::linear<host>::backward_data(ctx, dy, w), "data gradient");
    host_tensor dw = random_host(w.shape(), 5), db = random_host(b.shape(), 6);
    host_tensor ours_dw = dw.clone(), ours_db = db.clone();
    ops::linear<host>::backward_weight(ctx, dy, x, &dw, bias ? &db : nullptr);
    ops::cuda_linear::backward_weight(e, dy.data(), x.data(), n, out, in, ours_dw.data(), bias ? ours_db.data() : nullptr);
    CHECK_HOST_CLOSE(ours_dw, dw, "weight gradient");
    CHECK_HOST_CLOSE(ours_db, db, "bias gradient");
  }
}

TEST_CASE("host-run kernels: batch_norm's passes match the CPU (training, evaluation, both backward modes)") {
  auto ctx = context<host>::train();
  for (const shape s : {shape{4, 6, 5, 7}, shape{16, 3, 1, 1}}) {
    for (const bool affine : {true, false}) {
      INFO("input ", s, ", affine ", affine);
      const host_tensor x = random_host(s, 1, 29.0f, 31.0f), dy = random_host(s, 2);
      const host_tensor gamma = random_host({s.c, 1, 1, 1}, 3, 0.5f, 1.5f), beta = random_host({s.c, 1, 1, 1}, 4);
      const float* g = affine ? gamma.data() : nullptr;
      const float* b = affine ? beta.data() : nullptr;
      host_tensor rm = random_host({s.c, 1, 1, 1}, 5), rv = random_host({s.c, 1, 1, 1}, 6, 0.5f, 2.0f);
      host_tensor our_rm = rm.clone(), our_rv = rv.clone();
      const auto r = ops::batch_norm<host>::forward_training(ctx, x, affine ? &gamma : nullptr, affine ? &beta : nullptr,
                                                             1e-5, &rm, &rv, 0.1);
      host_engine e;
      host_tensor y = host_tensor::uninitialized(s), mean({s.c, 1, 1, 1}), invstd({s.c, 1, 1, 1});
      ck::batch_norm_training(e, x.data(), s, g, b, 1e-5, our_rm.data(), our_rv.data(), 0.1, y.data(), mean.data(),
                              invstd.data());
      CHECK_HOST_CLOSE(y, r.y, "training forward");
      CHECK_HOST_CLOSE(mean, r.mean, "saved mean");
      CHECK_HOST_CLOSE(invstd, r.invstd, "saved invstd");
      CHECK_HOST_CLOSE(our_rm, rm, "running mean");
      CHECK_HOST_CLOSE(our_rv, rv, "running variance");

      const auto ev = ops::batch_norm<host>::forward_inference(ctx, x, affine ? &gamma : nullptr,
                                                               affine ? &beta : nullptr, rm, rv, 1e-3);
      host_tensor ey = host_tensor::uninitialized(s), emean({s.c, 1, 1, 1}), einvstd({s.c, 1, 1, 1});
      ck::batch_norm_inference(e, x.data(), s, g, b, rm.data(), rv.data(), 1e-3, ey.data(), emean.data(),
                               einvstd.data());
      CHECK_HOST_CLOSE(ey, ev.y, "evaluation forward");
      CHECK(identical(emean, ev.mean));
      CHECK_HOST_CLOSE(einvstd, ev.invstd, "evaluation invstd");

      for (const bool batch : {true, false}) {
        for (const bool want_parameters : {true, false}) {
          INFO("through the batch statistics ", batch, ", parameter gradients ", want_parameters);
          const auto& saved = batch ? r : ev;
          host_tensor dgamma = random_host({s.c, 1, 1, 1}, 7), dbeta = random_host({s.c, 1, 1, 1}, 8);
          host_tensor our_dgamma = dgamma.clone(), our_dbeta = dbeta.clone();
          const bool grads = want_parameters && affine;
          const host_tensor dx = ops::batch_norm<host>::backward(
              ctx, dy, x, affine ? &gamma : nullptr, saved.mean, saved.invstd,
              batch ? ops::batch_norm_statistics::batch : ops::batch_norm_statistics::running,
              grads ? &dgamma : nullptr, grads ? &dbeta : nullptr);
          host_tensor our_dx = host_tensor::uninitialized(s);
          ck::batch_norm_backward(e, dy.data(), x.data(), s, g, saved.mean.data(), saved.invstd.data(), batch,
                                  grads ? our_dgamma.data() : nullptr, grads ? our_dbeta.data() : nullptr,
                                  our_dx.data());
          CHECK_HOST_CLOSE(our_dx, dx, "data gradient");
          CHECK_HOST_CLOSE(our_dgamma, dgamma, "weight gradient");
          CHECK_HOST_CLOSE(our_dbeta, dbeta, "bias gradient");
        }
      }
    }
  }
}

TEST_CASE("host-run kernels: group_norm's passes match the CPU") {
  auto ctx = context<host>::train();
  struct gn_case {
    shape s;
    std::int64_t groups;
  };
  for (const auto& c : {gn_case{{3, 12, 5, 7}, 4}, gn_case{{2, 8, 3, 3}, 1}, gn_case{{2, 6, 4, 1}, 6}}) {
    for (const bool affine : {true, false}) {
      INFO("input ", c.s, ", ", c.groups, " groups, affine ", affine);
      const host_tensor x = random_host(c.s, 1, 9.0f, 11.0f), dy = random_host(c.s, 2);
      const host_tensor gamma = random_host({c.s.c, 1, 1, 1}, 3, 0.5f, 1.5f), beta = random_host({c.s.c, 1, 1, 1}, 4);
      const auto r = ops::group_norm<host>::forward(ctx, x, c.groups, affine ? &gamma : nullptr,
                                                    affine ? &beta : nullptr, 1e-5);
      host_engine e;
      const shape ss{c.s.n, c.groups, 1, 1};
      host_tensor y = host_tensor::uninitialized(c.s), mean(ss), invstd(ss);
      ck::group_norm_forward(e, x.data(), c.s, c.groups, affine ? gamma.data() : nullptr,
                             affine ? beta.data() : nullptr, 1e-5, y.data(), mean.data(), invstd.data());
      CHECK_HOST_CLOSE(y, r.y, "forward");
      CHECK_HOST_CLOSE(mean, r.mean, "saved mean");
      CHECK_HOST_CLOSE(invstd, r.invstd, "saved invstd");
      host_tensor dgamma = random_host({c.s.c, 1, 1, 1}, 5), dbeta = random_host({c.s.c, 1, 1, 1}, 6);
      host_tensor our_dgamma = dgamma.clone(), our_dbeta = dbeta.clone();
      const host_tensor dx =
          ops::group_norm<host>::backward(ctx, dy, x, c.groups, affine ? &gamma : nullptr, r.mean, r.invstd,
                                          affine ? &dgamma : nullptr, affine ? &dbeta : nullptr);
      host_tensor our_dx = host_tensor::uninitialized(c.s);
      ck::group_norm_backward(e, dy.data(), x.data(), c.s, c.groups, affine ? gamma.data() : nullptr, r.mean.data(),
                              r.invstd.data(), affine ? our_dgamma.data() : nullptr,
                              affine ? our_dbeta.data() : nullptr, our_dx.data());
      CHECK_HOST_CLOSE(our_dx, dx, "data gradient");
      CHECK_HOST_CLOSE(our_dgamma, dgamma, "weight gradient");
      CHECK_HOST_CLOSE(our_dbeta, dbeta, "bias gradient");
    }
  }
}

TEST_CASE("host-run kernels: pooling, upsampling and the im2col layouts are the CPU's bit for bit") {
  auto ctx = context<host>::train();
  host_engine e;
  struct pool_case {
    shape x;
    ops::pool2d_geometry g;
  };
  for (const auto& c : {pool_case{{2, 3, 10, 10}, {3, 3, 2, 2, 1, 1, false}}, pool_case{{1, 2, 9, 9}, {3, 3, 2, 2, 0, 0, false}},
                        pool_case{{1, 3, 8, 7}, {3, 3, 2, 2, 0, 0, true}}, pool_case{{2, 4, 9, 10}, {3, 3, 1, 1, 1, 1, false}},
                        pool_case{{1, 3, 11, 9}, {2, 3, 3, 2, 1, 1, true}}, pool_case{{2, 2, 17, 17}, {5, 5, 3, 3, 0, 0, false}},
                        pool_case{{1, 2, 8, 8}, {2, 2, 2, 2, 0, 0, false}}}) {
    INFO("input ", c.x, ", ", c.g.describe("pool"));
    host_tensor x = random_host(c.x, 1, 0.0f, 4.0f);
    for (std::int64_t i = 0; i < x.size(); ++i) x.data()[i] = std::floor(x.data()[i]);  // ties
    x.data()[5] = std::nanf("");
    const shape ys = c.g.output(c.x, "pool");
    const host_tensor dy = random_host(ys, 2);
    const ck::pool_dims d{c.x.h, c.x.w, ys.h, ys.w, c.g.kernel_h, c.g.kernel_w, c.g.stride_h, c.g.stride_w, c.g.pad_h, c.g.pad_w};

    ops::max_pool2d<host>::indices_type indices;
    const host_tensor y = ops::max_pool2d<host>::forward(ctx, x, c.g, &indices);
    host_tensor ours = host_tensor::uninitialized(ys);
    std::vector<std::int32_t> our_indices(static_cast<std::size_t>(ys.size()));
    e.for_each(ys.size(), ck::max_pool_forward{x.data(), ours.data(), our_indices.data(), d}, "");
    CHECK(identical(ours, y));
    CHECK(our_indices == indices);
    host_tensor ours_dx = host_tensor::uninitialized(c.x);
    e.for_each(c.x.size(), ck::max_pool_backward{dy.data(), our_indices.data(), ours_dx.data(), d}, "");
    CHECK(identical(ours_dx, ops::max_pool2d<host>::backward(ctx, dy, indices, c.x, c.g)));

    const host_tensor xs = random_host(c.x, 3);
    for (const bool include : {true, false}) {
      e.for_each(ys.size(), ck::avg_pool_forward{xs.data(), ours.data(), d, include}, "");
      CHECK(identical(ours, ops::avg_pool2d<host>::forward(ctx, xs, c.g, include)));
      e.for_each(c.x.size(), ck::avg_pool_backward{dy.data(), ours_dx.data(), d, include}, "");
      CHECK(identical(ours_dx, ops::avg_pool2d<host>::backward(ctx, dy, c.x, c.g, include)));
    }
  }

  struct adaptive_case {
    shape x;
    std::int64_t out_h, out_w;
  };
  for (const auto& c : {adaptive_case{{2, 3, 5, 5}, 1, 1}, adaptive_case{{1, 2, 5, 5}, 7, 7},
                        adaptive_case{{2, 3, 10, 7}, 3, 4}, adaptive_case{{1, 2, 4, 4}, 6, 5}, adaptive_case{{1, 1, 13, 3}, 5, 2}}) {
    INFO("adaptive ", c.x, " -> ", c.out_h, "x", c.out_w);
    const shape ys{c.x.n, c.x.c, c.out_h, c.out_w};
    const host_tensor x = random_host(c.x, 4), dy = random_host(ys, 5);
    host_tensor y = host_tensor::uninitialized(ys), dx = host_tensor::uninitialized(c.x);
    e.for_each(ys.size(), ck::adaptive_pool_forward{x.data(), y.data(), c.x.h, c.x.w, c.out_h, c.out_w}, "");
    CHECK(identical(y, ops::adaptive_avg_pool2d<host>::forward(ctx, x, c.out_h, c.out_w)));
    e.for_each(c.x.size(), ck::adaptive_pool_backward{dy.data(), dx.data(), c.x.h, c.x.w, c.out_h, c.out_w}, "");
    CHECK(identical(dx, ops::adaptive_avg_pool2d<host>::backward(ctx, dy, c.x)));
  }

  for (const std::int64_t scale : {1, 2, 3}) {
    const shape s{2, 3, 5, 4}, ys = ops::upsample_output(s, scale);
    const host_tensor x = random_host(s, 6), dy = random_host(ys, 7);
    host_tensor y = host_tensor::uninitialized(ys), dx = host_tensor::uninitialized(s);
    e.for_each(ys.size(), ck::upsample_forward{x.data(), y.data(), s.h, s.w, scale}, "");
    CHECK(identical(y, ops::upsample_nearest<host>::forward(ctx, x, scale)));
    e.for_each(s.size(), ck::upsample_backward{dy.data(), dx.data(), s.h, s.w, scale}, "");
    CHECK(identical(dx, ops::upsample_nearest<host>::backward(ctx, dy, s, scale)));
  }

  // The im2col layouts against the CPU's im2col, per image (one [K, P] block each) and for a chunk ([K, B P]).
  const shape xs{3, 4, 9, 8};
  const ops::conv2d_geometry g{3, 2, 2, 1, 1, 1, 2, 1};
  const shape ys = g.output(xs, 1);
  const std::int64_t k = xs.c * g.kernel_h * g.kernel_w, p = ys.h * ys.w;
  const ck::conv_dims d{xs.c, xs.h, xs.w, ys.h, ys.w, g.kernel_h, g.kernel_w, g.stride_h, g.stride_w, g.pad_h, g.pad_w,
                        g.dilation_h, g.dilation_w};
  const host_tensor x = random_host(xs, 8);
  std::vector<float> cpu(static_cast<std::size_t>(xs.n * k * p)), ours(cpu.size());
  for (std::int64_t b = 0; b < xs.n; ++b)
    ops::cpu_conv::im2col(x.data() + b * xs.per_sample(), xs, g, ys.w, 0, p, cpu.data() + b * k * p, p);
  e.for_each(xs.n * k * p, ck::im2col{x.data(), ours.data(), d, k * p, p}, "");
  CHECK(ours == cpu);
  for (std::int64_t b = 0; b < xs.n; ++b)
    ops::cpu_conv::im2col(x.data() + b * xs.per_sample(), xs, g, ys.w, 0, p, cpu.data() + b * p, xs.n * p);
  e.for_each(xs.n * k * p, ck::im2col{x.data(), ours.data(), d, p, xs.n * p}, "");
  CHECK(ours == cpu);
  const host_tensor col = random_host({xs.n, k, p, 1}, 9);
  host_tensor cpu_dx(xs), our_dx = host_tensor::uninitialized(xs);
  for (std::int64_t b = 0; b < xs.n; ++b)
    ops::cpu_conv::col2im(col.data() + b * k * p, xs, g, ys.h, ys.w, 0, xs.c, cpu_dx.data() + b * xs.per_sample(), p);
  e.for_each(xs.size(), ck::col2im{col.data(), our_dx.data(), d, k * p, p}, "");
  CHECK(identical(our_dx, cpu_dx));
  std::vector<float> transposed(static_cast<std::size_t>(xs.size())), cpu_transposed(transposed.size());
  ops::cpu_conv::to_channel_major(x.data(), xs.n, xs.c, xs.plane(), cpu_transposed.data());
  e.for_each(xs.size(), ck::to_channel_major{x.data(), transposed.data(), xs.n, xs.c, xs.plane()}, "");
  CHECK(transposed == cpu_transposed);
}

TEST_CASE("host-run kernels: elementwise, dropout, losses and optimiser updates are the CPU's") {
  auto ctx = context<host>::train();
  host_engine e;
  const shape s{3, 5, 7, 9};
  const host_tensor a = random_host(s, 1, -5.0f, 5.0f), b = random_host(s, 2);
  host_tensor out = host_tensor::uninitialized(s);

  e.for_each(s.size(), ck::add_values{a.data(), b.data(), out.data()}, "");
  CHECK(identical(out, ops::arithmetic<host>::add(ctx, a, b)));
  e.for_each(s.size(), ck::scale_values{a.data(), out.data(), 0.3f}, "");
  CHECK(identical(out, ops::arithmetic<host>::scale(ctx, a, 0.3f)));
  host_tensor acc = a.clone(), our_acc = a.clone();
  ops::arithmetic<host>::accumulate(ctx, acc, b, -2.0f);
  e.for_each(s.size(), ck::accumulate_values{our_acc.data(), b.data(), -2.0f}, "");
  CHECK(identical(our_acc, acc));
  const host_tensor bias = random_host({5, 1, 1, 1}, 3);
  e.for_each(s.size(), ck::broadcast_channels{out.data(), bias.data(), 5, 63}, "");
  for (std::int64_t i = 0; i < s.size(); ++i) REQUIRE(out.data()[i] == bias.data()[(i / 63) % 5]);

  const auto check_activation = [&](const auto& f) {
    INFO(f.name);
    const host_tensor y = ops::activation<host>::forward(ctx, a, f);
    e.for_each(s.size(), ck::activation_forward<std::decay_t<decltype(f)>>{a.data(), out.data(), f}, "");
    CHECK(identical(out, y));
    e.for_each(s.size(), ck::activation_backward<std::decay_t<decltype(f)>>{a.data(), y.data(), b.data(), out.data(), f},
               "");
    CHECK(identical(out, ops::activation<host>::backward(ctx, a, y, b, f)));
  };
  check_activation(ops::relu_function{});
  check_activation(ops::sigmoid_function{});
  check_activation(ops::tanh_function{});
  check_activation(ops::silu_function{});
  check_activation(ops::gelu_function{});
  check_activation(ops::gelu_function{.tanh = true});

  for (const double p : {0.0, 0.3, 1.0}) {
    const random_stream stream{77, 3};
    const auto [y, mask] = ops::dropout<host>::forward(ctx, a, p, stream);
    host_tensor our_mask = host_tensor::uninitialized(s);
    e.for_each(ck::dropout_blocks(s.size()),
               ck::make_dropout_forward(a.data(), out.data(), our_mask.data(), s.size(), p, stream), "");
    CHECK(identical(our_mask, mask));
    CHECK(identical(out, y));
  }

  // Sum of squares (one segment) and the losses.
  const host_tensor big = random_host({1, 3, 100, 101}, 4);
  double total = 0;
  e.segment_sums<1>(1, big.size(), ops::cuda_kernels::load_square{big.data()}, ops::cuda_kernels::store_total{&total}, "");
  CHECK(std::abs(total - ops::arithmetic<host>::sum_squares(ctx, big)) <= 1e-12 * total);

  const shape ls{9, 7, 1, 1};
  const host_tensor logits = random_host(ls, 5, -20.0f, 20.0f);
  std::vector<std::int64_t> labels(9);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int64_t>((i * 5) % 7);
  for (const double smoothing : {0.0, 0.1}) {
    const auto [loss, grad] = ops::losses<host>::softmax_cross_entropy(ctx, logits, labels, smoothing);
    host_tensor our_grad = host_tensor::uninitialized(ls);
    std::vector<double> per_sample(9);
    const double off = smoothing / 7, on = 1.0 - smoothing + off;
    e.for_each(ls.n, ck::softmax_cross_entropy_sample{logits.data(), labels.data(), our_grad.data(), per_sample.data(),
                                                      ls.n, 7, on, off},
               "");
    double our_loss = 0;
    for (double v : per_sample) our_loss += v;
    CHECK(our_loss / 9 == loss);
    CHECK(identical(our_grad, grad));
  }
  const host_tensor target = random_host(s, 6);
  std::vector<double> weights(3);
  for (std::size_t i = 0; i < 3; ++i) weights[i] = 0.5 + static_cast<double>(i);
  for (const bool weighted : {false, true}) {
    const auto [loss, grad] = ops::losses<host>::mse(ctx, a, target, weighted ? std::span<const double>(weights)
                                                                              : std::span<const double>());
    host_tensor our_grad = host_tensor::uninitialized(s);
    std::vector<double> per_sample(3);
    ck::mse_per_sample(e, a.data(), target.data(), weighted ? weights.data() : nullptr, s.n, s.per_sample(),
                       our_grad.data(), per_sample.data());
    double our_loss = 0;
    for (double v : per_sample) our_loss += v;
    CHECK(our_loss / static_cast<double>(s.size()) == loss);
    CHECK(identical(our_grad, grad));
  }

  // One SGD (Nesterov, decay, dampening), one Adam and one AdamW update, an EMA step.
  const ops::sgd_step_options so{0.05, 0.9, 0.1, 1e-4, true};
  for (const bool first : {true, false}) {
    host_tensor p = a.clone(), buffer = b.clone(), our_p = a.clone(), our_buffer = b.clone();
    ops::optimizer_steps<host>::sgd_step(ctx, p, b, &buffer, so, first);
    e.for_each(s.size(), ck::make_sgd_update(our_p.data(), b.data(), our_buffer.data(), so, first), "");
    CHECK(identical(our_p, p));
    CHECK(identical(our_buffer, buffer));
  }
  for (const bool decoupled : {false, true}) {
    const ops::adam_step_options o{1e-3, 0.9, 0.999, 1e-8, 1e-2, decoupled, 3};
    host_tensor p = a.clone(), m = b.clone(), v = host_tensor::full(s, 0.5f);
    host_tensor our_p = a.clone(), our_m = b.clone(), our_v = host_tensor::full(s, 0.5f);
    ops::optimizer_steps<host>::adam_step(ctx, p, b, m, v, o);
    e.for_each(s.size(), ck::make_adam_update(our_p.data(), b.data(), our_m.data(), our_v.data(), o), "");
    CHECK(identical(our_p, p));
    CHECK(identical(our_m, m));
    CHECK(identical(our_v, v));
  }
  host_tensor shadow = a.clone(), our_shadow = a.clone();
  ops::optimizer_steps<host>::ema_step(ctx, shadow, b, 0.999);
  e.for_each(s.size(), ck::make_ema_update(our_shadow.data(), b.data(), 0.999), "");
  CHECK(identical(our_shadow, shadow));
}

TEST_CASE("host-run kernels: channel bias, embedding, timestep embedding and channel map match the CPU") {
  auto ctx = context<host>::train();
  host_engine e;
  {
    const shape s{3, 5, 4, 7};
    const host_tensor x = random_host(s, 1), bias = random_host({3, 5, 1, 1}, 2);
    host_tensor y = host_tensor::uninitialized(s), db = host_tensor::uninitialized({3, 5, 1, 1});
    ck::channel_bias_forward(e, x.data(), bias.data(), s.n * s.c, s.plane(), y.data());
    CHECK(identical(y, ops::channel_bias<host>::forward(ctx, x, bias)));
    ck::channel_bias_backward(e, x.data(), s.n * s.c, s.plane(), db.data());
    CHECK(identical(db, ops::channel_bias<host>::backward_bias(ctx, x)));
  }
  {
    const std::int64_t rows = 5, dim = 6;
    const host_tensor table = random_host({rows, dim, 1, 1}, 3);
    const std::vector<std::int64_t> indices{4, 0, 4, 2, 4, 1, 0};  // repeated rows add in sample order
    const auto n = static_cast<std::int64_t>(indices.size());
    host_tensor y = host_tensor::uninitialized({n, dim, 1, 1});
    ck::embedding_forward(e, table.data(), dim, indices, y.data());
    CHECK(identical(y, ops::embedding<host>::forward(ctx, table, indices)));
    const host_tensor dy = random_host({n, dim, 1, 1}, 4);
    host_tensor dw = random_host({rows, dim, 1, 1}, 5), our_dw = dw.clone();
    ops::embedding<host>::backward(ctx, dy, indices, dw);
    ck::embedding_backward(e, dy.data(), indices, rows, dim, our_dw.data());
    CHECK(identical(our_dw, dw));
  }
  for (const std::int64_t dim : {64, 7}) {
    const std::vector<double> t{0.0, 999.0, 999.0, 17.5, 1.0};
    const ops::timestep_embedding_geometry g{.dim = dim};
    host_tensor y = host_tensor::uninitialized({5, dim, 1, 1});
    ck::timestep_embedding_forward(e, t, g, y.data());
    CHECK(identical(y, ops::timestep_embedding<host>::forward(ctx, t, g)));
  }
  {
    // The gray path's lift (1 -> 2 channels with a shift) and a 3 -> 2 fold without one, applied to a weight.
    const std::vector<double> lift{0.5, -2.0}, lift_shift{0.25, 1.0}, fold{1.0, 2.0, -0.5, 0.1, 0.2, 0.3};
    const host_tensor g = random_host({4, 1, 6, 5}, 6), w = random_host({8, 3, 3, 3}, 7);
    for (const auto& [x, map] : {std::pair{g, ops::channel_map{2, 1, lift, lift_shift}},
                                 std::pair{w, ops::channel_map{2, 3, fold, {}}}}) {
      const shape xs = x.shape();
      host_tensor y = host_tensor::uninitialized({xs.n, map.outputs, xs.h, xs.w});
      ck::channel_affine_forward(e, x.data(), xs.n, xs.plane(), map, y.data());
      CHECK_HOST_CLOSE(y, ops::channel_affine<host>::forward(ctx, x, map), "channel map");
    }
  }
}

TEST_CASE("host-run kernels: diffusion's combine, noise and reverse step match the CPU (the same noise)") {
  auto ctx = context<host>::train();
  host_engine e;
  const shape s{4, 1, 6, 5};
  const host_tensor x = random_host(s, 1), y = random_host(s, 2);
  const std::vector<double> one_a{0.7}, one_b{-0.3}, per_a{0.1, 0.2, 0.3, 0.4}, per_b{0.9, -0.8, 0.7, -0.6};
  for (const auto& [a, b] : {std::pair{std::span<const double>(one_a), std::span<const double>(one_b)},
                             std::pair{std::span<const double>(per_a), std::span<const double>(one_b)},
                             std::pair{std::span<const double>(one_a), std::span<const double>(per_b)},
                             std::pair{std::span<const double>(per_a), std::span<const double>(per_b)}}) {
    host_tensor out = host_tensor::uninitialized(s);
    ck::diffusion_combine_forward(e, x.data(), a, y.data(), b, s.n, s.per_sample(), out.data());
    CHECK_HOST_CLOSE(out, ops::diffusion_steps<host>::combine(ctx, x, a, y, b), "combine");
  }
  const std::vector<random_stream> streams{{11, 1}, {11, 2}, {12, 1}, {11, (std::uint64_t{3} << 40) + 5}};
  for (const std::uint64_t offset : {std::uint64_t{0}, std::uint64_t{31}, std::uint64_t{3} * 30}) {
    host_tensor z = host_tensor::uninitialized(s);
    ck::diffusion_normal_forward(e, streams, s.per_sample(), offset, z.data());
    CHECK(identical(z, ops::diffusion_steps<host>::normal(ctx, s, streams, offset)));
  }
  for (const bool clip : {false, true}) {
    for (const double sigma : {0.0, 0.35}) {
      INFO("clip ", clip, ", sigma ", sigma);
      const ops::reverse_step_coefficients c{1.3, -0.6, clip, -0.5, 0.5, 0.8, 0.15, sigma};
      host_tensor out = host_tensor::uninitialized(s);
      ck::diffusion_reverse_step_forward(e, x.data(), y.data(), s.n, s.per_sample(), c, streams, 60, out.data());
      CHECK_HOST_CLOSE(out, ops::diffusion_steps<host>::reverse_step(ctx, x, y, c, streams, 60), "reverse step");
    }
  }
}

TEST_CASE("host-run kernels: self-attention's products and softmax match the CPU (one and several heads)") {
  auto ctx = context<host>::train();
  struct attention_case {
    shape qkv;
    std::int64_t heads;
  };
  for (const auto& c : {attention_case{{3, 12, 4, 5}, 1}, attention_case{{2, 24, 3, 3}, 2},
                        attention_case{{2, 12, 1, 1}, 4}, attention_case{{1, 6, 6, 6}, 1}}) {
    INFO("qkv ", c.qkv, ", ", c.heads, " heads");
    const std::int64_t ch = c.qkv.c / 3, t = c.qkv.plane();
    const shape ys{c.qkv.n, ch, c.qkv.h, c.qkv.w}, ws{c.qkv.n * c.heads, t, t, 1};
    const host_tensor qkv = random_host(c.qkv, 1, -2.0f, 2.0f), dy = random_host(ys, 2);
    const auto r = ops::attention<host>::forward(ctx, qkv, c.heads, true);
    host_engine e;
    host_tensor y = host_tensor::uninitialized(ys), w = host_tensor::uninitialized(ws);
    ck::attention_forward(e, qkv.data(), c.qkv, c.heads, y.data(), w.data());
    CHECK_HOST_CLOSE(y, r.y, "output");
    CHECK_HOST_CLOSE(w, r.weights, "weights");
    host_tensor y_alone = host_tensor::uninitialized(ys);
    ck::attention_forward(e, qkv.data(), c.qkv, c.heads, y_alone.data(), nullptr);
    CHECK(identical(y_alone, y));
    host_tensor dqkv = host_tensor::uninitialized(c.qkv);
    ck::attention_backward(e, dy.data(), qkv.data(), r.weights.data(), c.qkv, c.heads, dqkv.data());
    CHECK_HOST_CLOSE(dqkv, ops::attention<host>::backward(ctx, dy, qkv, r.weights, c.heads), "gradient");
  }
}

// nvcc's front end names parameters as the C++ compiler does. Its trait for named<Name, L> once matched no
// named<> (it does not match a partial specialisation on a class-type template argument), so every composite
// named its children by position ("0.weight" for ResNet's conv1) and checkpoint keys differed between the builds.
TEST_CASE("nvcc: parameters keep their PyTorch names in composites and in hand-written networks") {
  static_assert(nn::is_named<nn::named<"conv1", nn::identity<cpu<float>>>>::value);
  static_assert(!nn::is_named<nn::identity<cpu<float>>>::value);
  auto names_of = [](auto& net) {
    std::vector<std::string> names;
    nn::for_each_parameter(net, [&](std::string_view name, auto&) { names.emplace_back(name); });
    return names;
  };
  auto has = [](const std::vector<std::string>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  models::resnet_small<cpu<float>> resnet(7, 3);
  const auto r = names_of(resnet);
  REQUIRE(!r.empty());
  CHECK(r.front() == "conv1.weight");
  CHECK(has(r, "layer1.0.downsample.0.weight"));
  CHECK(has(r, "fc.weight"));

  models::unet<cpu<float>> unet(models::unet_presets::demo(7));
  const auto u = names_of(unet);
  REQUIRE(!u.empty());
  CHECK(u.front() == "time_embed.0.weight");
  CHECK(has(u, "label_emb.weight"));
  CHECK(has(u, "input_blocks.1.0.in_layers.0.weight"));
  CHECK(has(u, "out.2.bias"));
}
