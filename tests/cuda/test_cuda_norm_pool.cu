// CUDA tests: batch and group normalisation (train, eval, running statistics, both backward modes), pooling
// and upsampling against the CPU backend. Pooling and upsampling are the CPU's results bit for bit.
#include "cuda_support.hpp"
#include "support/errors.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <vector>

using namespace fergen;
using namespace fergen::testing;

TEST_CASE("cuda batch_norm matches the CPU: training statistics, running averages, evaluation, gradients") {
  using H = ops::batch_norm<host>;
  using D = ops::batch_norm<device>;
  auto hc = context<host>::train();
  auto dc = context<device>::train();
  // ResNet's first BN at 160x160 (80x80 maps), a deep stage, a BatchNorm1d over features, a large mean.
  for (const shape s : {shape{8, 64, 80, 80}, shape{16, 512, 5, 5}, shape{64, 256, 1, 1}, shape{2, 3, 7, 5}}) {
    for (const bool affine : {true, false}) {
      INFO("input ", s, ", affine ", affine);
      const host_tensor x = random_host(s, 1, 29.0f, 31.0f), dy = random_host(s, 2);
      const host_tensor gamma = random_host({s.c, 1, 1, 1}, 3, 0.5f, 1.5f), beta = random_host({s.c, 1, 1, 1}, 4);
      const host_tensor* w = affine ? &gamma : nullptr;
      const host_tensor* b = affine ? &beta : nullptr;
      const device_tensor gx = to_device(x), gdy = to_device(dy), ggamma = to_device(gamma), gbeta = to_device(beta);
      const device_tensor* gw = affine ? &ggamma : nullptr;
      const device_tensor* gb = affine ? &gbeta : nullptr;

      host_tensor rm = random_host({s.c, 1, 1, 1}, 5), rv = random_host({s.c, 1, 1, 1}, 6, 0.5f, 2.0f);
      device_tensor grm = to_device(rm), grv = to_device(rv);
      const auto r = H::forward_training(hc, x, w, b, 1e-5, &rm, &rv, 0.1);
      const auto gr = D::forward_training(dc, gx, gw, gb, 1e-5, &grm, &grv, 0.1);
      FERGEN_CHECK_CLOSE(gr.y, r.y, "training forward");
      FERGEN_CHECK_CLOSE(gr.mean, r.mean, "saved mean");
      FERGEN_CHECK_CLOSE(gr.invstd, r.invstd, "saved invstd");
      FERGEN_CHECK_CLOSE(grm, rm, "running mean");
      FERGEN_CHECK_CLOSE(grv, rv, "running variance");

      for (const auto statistics : {ops::batch_norm_statistics::batch, ops::batch_norm_statistics::running}) {
        host_tensor dgamma = random_host({s.c, 1, 1, 1}, 7), dbeta = random_host({s.c, 1, 1, 1}, 8);
        device_tensor gdgamma = to_device(dgamma), gdbeta = to_device(dbeta);
        const bool batch = statistics == ops::batch_norm_statistics::batch;
        const auto saved = batch ? r : H::forward_inference(hc, x, w, b, rm, rv, 1e-3);
        const auto gsaved = batch ? gr : D::forward_inference(dc, gx, gw, gb, grm, grv, 1e-3);
        if (!batch) {
          FERGEN_CHECK_CLOSE(gsaved.y, saved.y, "evaluation forward");
          FERGEN_CHECK_CLOSE(gsaved.mean, saved.mean, "evaluation mean");
          FERGEN_CHECK_CLOSE(gsaved.invstd, saved.invstd, "evaluation invstd");
        }
        const host_tensor dx = H::backward(hc, dy, x, w, saved.mean, saved.invstd, statistics,
                                           affine ? &dgamma : nullptr, affine ? &dbeta : nullptr);
        const device_tensor gdx = D::backward(dc, gdy, gx, gw, gsaved.mean, gsaved.invstd, statistics,
                                              affine ? &gdgamma : nullptr, affine ? &gdbeta : nullptr);
        INFO("statistics ", batch ? "batch" : "running");
        FERGEN_CHECK_CLOSE(gdx, dx, "data gradient");
        if (affine) {
          FERGEN_CHECK_CLOSE(gdgamma, dgamma, "weight gradient");
          FERGEN_CHECK_CLOSE(gdbeta, dbeta, "bias gradient");
        }
      }
    }
  }
  const host_tensor one({1, 2, 1, 1});
  CHECK(error_of([&] { D::forward_training(dc, to_device(one), nullptr, nullptr, 1e-5, nullptr, nullptr, 0); }) ==
        error_of([&] { H::forward_training(hc, one, nullptr, nullptr, 1e-5, nullptr, nullptr, 0); }));
}

TEST_CASE("cuda batch_norm2d layer: momentum None, num_batches_tracked through host transfers") {
  nn::batch_norm2d<host> h(16, {.momentum = std::nullopt});
  nn::batch_norm2d<device> d(16, {.momentum = std::nullopt});
  copy_weights(h, d);
  auto hc = context<host>::train();
  auto dc = context<device>::train();
  for (std::uint64_t step = 0; step < 3; ++step) {
    const host_tensor x = random_host({4, 16, 6, 6}, 10 + step, -2.0f, 3.0f);
    FERGEN_CHECK_CLOSE(d.forward(dc, to_device(x)), h.forward(hc, x), "forward");
  }
  FERGEN_CHECK_CLOSE(d.running_mean()->value, h.running_mean()->value, "running mean");
  FERGEN_CHECK_CLOSE(d.running_var()->value, h.running_var()->value, "running variance");
  CHECK(identical(d.num_batches_tracked()->value, h.num_batches_tracked()->value));
  CHECK(to_host(d.num_batches_tracked()->value).data()[0] == 3.0f);
}

TEST_CASE("cuda group_norm matches the CPU: forward and the full gradient") {
  using H = ops::group_norm<host>;
  using D = ops::group_norm<device>;
  auto hc = context<host>::train();
  auto dc = context<device>::train();
  struct gn_case {
    shape s;
    std::int64_t groups;
  };
  // The UNet's GroupNorm(32) at 48, 24, 12 and 6; one group (LayerNorm-like); one channel per group.
  for (const auto& c : {gn_case{{4, 64, 48, 48}, 32}, gn_case{{8, 128, 24, 24}, 32}, gn_case{{16, 256, 12, 12}, 32},
                        gn_case{{32, 256, 6, 6}, 32}, gn_case{{3, 12, 5, 7}, 1}, gn_case{{3, 12, 5, 7}, 12}}) {
    for (const bool affine : {true, false}) {
      INFO("input ", c.s, ", ", c.groups, " groups, affine ", affine);
      const host_tensor x = random_host(c.s, 1, 9.0f, 11.0f), dy = random_host(c.s, 2);
      const host_tensor gamma = random_host({c.s.c, 1, 1, 1}, 3, 0.5f, 1.5f), beta = random_host({c.s.c, 1, 1, 1}, 4);
      const device_tensor ggamma = to_device(gamma), gbeta = to_device(beta);
      const auto r = H::forward(hc, x, c.groups, affine ? &gamma : nullptr, affine ? &beta : nullptr, 1e-5);
      const auto gr =
          D::forward(dc, to_device(x), c.groups, affine ? &ggamma : nullptr, affine ? &gbeta : nullptr, 1e-5);
      FERGEN_CHECK_CLOSE(gr.y, r.y, "forward");
      FERGEN_CHECK_CLOSE(gr.mean, r.mean, "saved mean");
      FERGEN_CHECK_CLOSE(gr.invstd, r.invstd, "saved invstd");
      host_tensor dgamma = random_host({c.s.c, 1, 1, 1}, 5), dbeta = random_host({c.s.c, 1, 1, 1}, 6);
      device_tensor gdgamma = to_device(dgamma), gdbeta = to_device(dbeta);
      const host_tensor dx = H::backward(hc, dy, x, c.groups, affine ? &gamma : nullptr, r.mean, r.invstd,
                                         affine ? &dgamma : nullptr, affine ? &dbeta : nullptr);
      const device_tensor gdx =
          D::backward(dc, to_device(dy), to_device(x), c.groups, affine ? &ggamma : nullptr, gr.mean, gr.invstd,
                      affine ? &gdgamma : nullptr, affine ? &gdbeta : nullptr);
      FERGEN_CHECK_CLOSE(gdx, dx, "data gradient");
      if (affine) {
        FERGEN_CHECK_CLOSE(gdgamma, dgamma, "weight gradient");
        FERGEN_CHECK_CLOSE(gdbeta, dbeta, "bias gradient");
      }
    }
  }
  CHECK(error_of([&] {
          D::forward(dc, device_tensor({1, 6, 2, 2}), 4, nullptr, nullptr, 1e-5);
        }) == error_of([&] {
          H::forward(hc, host_tensor({1, 6, 2, 2}), 4, nullptr, nullptr, 1e-5);
        }));
}

TEST_CASE("cuda pooling and upsampling give the CPU's results bit for bit") {
  auto hc = context<host>::train();
  auto dc = context<device>::train();
  struct pool_case {
    const char* name;
    shape x;
    ops::pool2d_geometry g;
  };
  const std::vector<pool_case> pools = {
      {"resnet stem max 3x3/2 p1", {4, 64, 80, 80}, {3, 3, 2, 2, 1, 1, false}},
      {"inception max 3x3/2", {2, 64, 37, 37}, {3, 3, 2, 2, 0, 0, false}},
      {"vgg max 2x2/2", {2, 64, 160, 160}, {2, 2, 2, 2, 0, 0, false}},
      {"ceil mode", {1, 3, 8, 7}, {3, 3, 2, 2, 0, 0, true}},
      {"overlapping 3x3/1 p1", {2, 4, 9, 10}, {3, 3, 1, 1, 1, 1, false}},
      {"asymmetric ceil", {1, 3, 11, 9}, {2, 3, 3, 2, 1, 1, true}},
      {"inception aux avg 5x5/3", {2, 8, 17, 17}, {5, 5, 3, 3, 0, 0, false}},
  };
  for (const auto& c : pools) {
    INFO(c.name, ": input ", c.x);
    // Integers in a small range: many exact ties, which must resolve to the first maximum as on the CPU.
    host_tensor x = random_host(c.x, 1, 0.0f, 6.0f);
    for (std::int64_t i = 0; i < x.size(); ++i) x.data()[i] = std::floor(x.data()[i]);
    x.data()[3] = std::nanf("");  // NaN wins, and propagates
    const shape ys = c.g.output(c.x, "max_pool2d");
    const host_tensor dy = random_host(ys, 2);
    ops::max_pool2d<host>::indices_type indices;
    ops::max_pool2d<device>::indices_type gindices;
    const host_tensor y = ops::max_pool2d<host>::forward(hc, x, c.g, &indices);
    CHECK(identical(ops::max_pool2d<device>::forward(dc, to_device(x), c.g, &gindices), y));
    CHECK(gindices.to_host() == indices);
    CHECK(identical(ops::max_pool2d<device>::backward(dc, to_device(dy), gindices, c.x, c.g),
                    ops::max_pool2d<host>::backward(hc, dy, indices, c.x, c.g)));
    CHECK(identical(ops::max_pool2d<device>::forward(dc, to_device(x), c.g, nullptr), y));

    const host_tensor xs = random_host(c.x, 3);
    for (const bool include : {true, false}) {
      INFO("count_include_pad ", include);
      CHECK(identical(ops::avg_pool2d<device>::forward(dc, to_device(xs), c.g, include),
                      ops::avg_pool2d<host>::forward(hc, xs, c.g, include)));
      CHECK(identical(ops::avg_pool2d<device>::backward(dc, to_device(dy), c.x, c.g, include),
                      ops::avg_pool2d<host>::backward(hc, dy, c.x, c.g, include)));
    }
  }

  struct adaptive_case {
    shape x;
    std::int64_t out_h, out_w;
  };
  for (const auto& c : {adaptive_case{{4, 2048, 5, 5}, 1, 1}, adaptive_case{{2, 512, 5, 5}, 7, 7},
                        adaptive_case{{2, 3, 10, 7}, 3, 4}, adaptive_case{{1, 2, 4, 4}, 6, 5}}) {
    INFO("adaptive ", c.x, " -> ", c.out_h, "x", c.out_w);
    const host_tensor x = random_host(c.x, 4), dy = random_host({c.x.n, c.x.c, c.out_h, c.out_w}, 5);
    CHECK(identical(ops::adaptive_avg_pool2d<device>::forward(dc, to_device(x), c.out_h, c.out_w),
                    ops::adaptive_avg_pool2d<host>::forward(hc, x, c.out_h, c.out_w)));
    CHECK(identical(ops::adaptive_avg_pool2d<device>::backward(dc, to_device(dy), c.x),
                    ops::adaptive_avg_pool2d<host>::backward(hc, dy, c.x)));
  }

  for (const std::int64_t scale : {1, 2, 3}) {
    const shape s{4, 64, 12, 12};
    const host_tensor x = random_host(s, 6), dy = random_host(ops::upsample_output(s, scale), 7);
    CHECK(identical(ops::upsample_nearest<device>::forward(dc, to_device(x), scale),
                    ops::upsample_nearest<host>::forward(hc, x, scale)));
    CHECK(identical(ops::upsample_nearest<device>::backward(dc, to_device(dy), s, scale),
                    ops::upsample_nearest<host>::backward(hc, dy, s, scale)));
  }

  const ops::pool2d_geometry g{3, 3, 2, 2, 1, 1, false};
  ops::max_pool2d<host>::indices_type few(3);
  device_buffer<std::int32_t> gfew(3);
  const shape xs{1, 1, 5, 5};
  CHECK(error_of([&] {
          ops::max_pool2d<device>::backward(dc, device_tensor({1, 1, 3, 3}), gfew, xs, g);
        }) == error_of([&] {
          ops::max_pool2d<host>::backward(hc, host_tensor({1, 1, 3, 3}), few, xs, g);
        }));
}
