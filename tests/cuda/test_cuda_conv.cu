// CUDA tests: convolution (cuDNN and im2col + cuBLAS, whole batch and chunked) and the linear op against the
// CPU backend, forward and both gradients, on the geometries of VGG-16, ResNet-50, Inception-V3 and the UNet.
#include "cuda_support.hpp"
#include "support/errors.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace fergen;
using namespace fergen::testing;

namespace {

struct conv_case {
  const char* name;
  shape x;
  std::int64_t out;
  size2 kernel, stride, pad, dilation;
  bool bias;
};

// Channels are cut down where the CPU reference would be slow; spatial sizes, kernels, strides and padding are
// the networks' own (backbones at 160x160, the UNet at 48x48).
const std::vector<conv_case> cases = {
    {"resnet stem 7x7/2 @160", {2, 3, 160, 160}, 64, 7, 2, 3, 1, false},
    {"resnet 1x1 64->256 @40", {2, 64, 40, 40}, 256, 1, 1, 0, 1, false},
    {"resnet 3x3 64 @40", {2, 64, 40, 40}, 64, 3, 1, 1, 1, false},
    {"resnet 3x3/2 128 @40", {2, 128, 40, 40}, 128, 3, 2, 1, 1, false},
    {"resnet 1x1/2 256->512 @40", {2, 256, 40, 40}, 512, 1, 2, 0, 1, false},
    {"resnet 3x3 512 @5", {3, 512, 5, 5}, 512, 3, 1, 1, 1, false},
    {"resnet 1x1 2048->512 @5", {3, 2048, 5, 5}, 512, 1, 1, 0, 1, false},
    {"vgg 3x3 3->64 @160", {2, 3, 160, 160}, 64, 3, 1, 1, 1, true},
    {"vgg 3x3 512 @10", {2, 512, 10, 10}, 512, 3, 1, 1, 1, true},
    {"inception 3x3/2 p0 @160", {2, 3, 160, 160}, 32, 3, 2, 0, 1, false},
    {"inception 5x5 p2 @17", {2, 48, 17, 17}, 64, 5, 1, 2, 1, false},
    {"inception 1x7 @17", {2, 64, 17, 17}, 64, {1, 7}, 1, {0, 3}, 1, false},
    {"inception 7x1 @17", {2, 64, 17, 17}, 64, {7, 1}, 1, {3, 0}, 1, false},
    {"inception 1x3 @8", {2, 96, 8, 8}, 96, {1, 3}, 1, {0, 1}, 1, false},
    {"inception 3x1 @8", {2, 96, 8, 8}, 96, {3, 1}, 1, {1, 0}, 1, false},
    {"inception 3x3/2 p0 @17", {2, 64, 17, 17}, 96, 3, 2, 0, 1, false},
    {"unet 3x3 64 @48", {4, 64, 48, 48}, 64, 3, 1, 1, 1, true},
    {"unet 3x3 128->256 @12", {4, 128, 12, 12}, 256, 3, 1, 1, 1, true},
    {"unet 3x3 256 @6", {4, 256, 6, 6}, 256, 3, 1, 1, 1, true},
    {"unet 1x1 64->1 @48", {4, 64, 48, 48}, 1, 1, 1, 0, 1, true},
    {"dilated 3x3 d2 with bias", {3, 5, 12, 11}, 7, 3, 1, 2, 2, true},
    {"odd stride asymmetric", {5, 4, 13, 8}, 5, {2, 3}, {3, 2}, {1, 0}, 1, true},
    {"batch of one 1x1", {1, 20, 6, 6}, 9, 1, 1, 0, 1, true},
};

ops::conv2d_geometry geometry_of(const conv_case& c) {
  return {c.kernel.h, c.kernel.w, c.stride.h, c.stride.w, c.pad.h, c.pad.w, c.dilation.h, c.dilation.w};
}

struct variant {
  const char* name;
  bool cudnn;
  bool chunked;  // a workspace limit that cuts the batch into chunks of about two images
};

void check_case(const conv_case& c, const variant& v) {
  const ops::conv2d_geometry g = geometry_of(c);
  const shape ws{c.out, c.x.c, c.kernel.h, c.kernel.w};
  const shape ys = g.output(c.x, c.out);
  const host_tensor x = random_host(c.x, 1), w = random_host(ws, 2, -0.1f, 0.1f), b = random_host({c.out, 1, 1, 1}, 3);
  const host_tensor dy = random_host(ys, 4), dw0 = random_host(ws, 5), db0 = random_host({c.out, 1, 1, 1}, 6);

  auto hc = context<host>::train();
  auto dc = context<device>::train();
  dc.resources.use_cudnn = v.cudnn;
  if (v.chunked) {
    const std::int64_t k = ws.c * ws.h * ws.w, p = ys.h * ys.w;
    dc.resources.workspace_limit = static_cast<std::size_t>(2 * (k + c.out) * p) * sizeof(float);
  }
  using H = ops::conv2d<host>;
  using D = ops::conv2d<device>;
  const device_tensor gx = to_device(x), gw = to_device(w), gb = to_device(b), gdy = to_device(dy);

  INFO(c.name, " (", v.name, "): x ", c.x, ", weight ", ws);
  FERGEN_CHECK_CLOSE(D::forward(dc, gx, gw, c.bias ? &gb : nullptr, g), H::forward(hc, x, w, c.bias ? &b : nullptr, g),
                     "forward");
  FERGEN_CHECK_CLOSE(D::backward_data(dc, gdy, gw, c.x, g), H::backward_data(hc, dy, w, c.x, g), "data gradient");

  // Gradients accumulate onto what is there.
  host_tensor dw = dw0.clone(), db = db0.clone();
  device_tensor gdw = to_device(dw0), gdb = to_device(db0);
  H::backward_weight(hc, dy, x, g, &dw, c.bias ? &db : nullptr);
  D::backward_weight(dc, gdy, gx, g, &gdw, c.bias ? &gdb : nullptr);
  // The accumulated gradient is compared through what the kernel added, so the starting values do not hide an
  // error in the sum.
  host_tensor added = dw.clone(), gadded = to_host(gdw);
  for (std::int64_t i = 0; i < added.size(); ++i) {
    added.data()[i] -= dw0.data()[i];
    gadded.data()[i] -= dw0.data()[i];
  }
  FERGEN_CHECK_CLOSE(gadded, added, "weight gradient");
  if (c.bias) FERGEN_CHECK_CLOSE(gdb, db, "bias gradient");

  // Deterministic: the same call gives the same bits.
  device_tensor again = to_device(dw0);
  D::backward_weight(dc, gdy, gx, g, &again, nullptr);
  CHECK(identical(again, to_host(gdw)));
}

}  // namespace

TEST_CASE("cuda conv2d matches the CPU on the networks' geometries: forward, data and weight gradients") {
  std::vector<variant> variants = {{"im2col + cuBLAS", false, false}, {"im2col + cuBLAS, chunked", false, true}};
#if FERGEN_WITH_CUDNN
  variants.insert(variants.begin(), variant{"cuDNN", true, false});
#endif
  for (const auto& v : variants)
    for (const auto& c : cases) check_case(c, v);
}

TEST_CASE("cuda conv2d: frozen parameters, empty batches, TF32 on request, the CPU's messages") {
  using H = ops::conv2d<host>;
  using D = ops::conv2d<device>;
  auto hc = context<host>::train();
  auto dc = context<device>::train();
  const ops::conv2d_geometry g{3, 3, 1, 1, 1, 1, 1, 1};
  const host_tensor x = random_host({2, 8, 9, 9}, 1), w = random_host({4, 8, 3, 3}, 2),
                    dy = random_host({2, 4, 9, 9}, 3);

  // Only the bias gradient (a frozen weight).
  host_tensor db({4, 1, 1, 1});
  device_tensor gdb({4, 1, 1, 1});
  H::backward_weight(hc, dy, x, g, nullptr, &db);
  D::backward_weight(dc, to_device(dy), to_device(x), g, nullptr, &gdb);
  FERGEN_CHECK_CLOSE(gdb, db, "bias gradient alone");

  const device_tensor empty = D::forward(dc, device_tensor({0, 8, 9, 9}), to_device(w), nullptr, g);
  CHECK(empty.shape() == shape{0, 4, 9, 9});
  CHECK(D::backward_data(dc, device_tensor({0, 4, 9, 9}), to_device(w), {0, 8, 9, 9}, g).shape() == shape{0, 8, 9, 9});

  // TF32 trades about three decimal digits for tensor cores.
  dc.resources.allow_tf32 = true;
  const double tf32 =
      relative_difference(D::forward(dc, to_device(x), to_device(w), nullptr, g), H::forward(hc, x, w, nullptr, g));
  CHECK(tf32 <= 1e-2);
  dc.resources.allow_tf32 = false;

  const host_tensor bad_w = random_host({4, 8, 3, 1}, 4), bad_x = random_host({2, 7, 9, 9}, 5);
  CHECK(error_of([&] { D::forward(dc, to_device(x), to_device(bad_w), nullptr, g); }) ==
        error_of([&] { H::forward(hc, x, bad_w, nullptr, g); }));
  CHECK(error_of([&] { D::forward(dc, to_device(bad_x), to_device(w), nullptr, g); }) ==
        error_of([&] { H::forward(hc, bad_x, w, nullptr, g); }));
  CHECK(error_of([&] {
          D::backward_data(dc, to_device(x), to_device(w), {2, 8, 9, 9}, g);
        }) == error_of([&] {
          H::backward_data(hc, x, w, {2, 8, 9, 9}, g);
        }));
  const host_tensor three({3, 1, 1, 1});
  CHECK(error_of([&] {
          device_tensor b3 = to_device(three);
          D::forward(dc, to_device(x), to_device(w), &b3, g);
        }) == error_of([&] { H::forward(hc, x, w, &three, g); }));
}

TEST_CASE("cuda linear matches the CPU: classifier heads and the backbones' fully connected layers") {
  struct linear_case {
    std::int64_t n, in, out;
    bool bias;
  };
  using H = ops::linear<host>;
  using D = ops::linear<device>;
  auto hc = context<host>::train();
  auto dc = context<device>::train();
  for (const auto& c :
       {linear_case{64, 2048, 7, true}, linear_case{64, 4096, 4096, true}, linear_case{3, 25088, 64, false},
        linear_case{256, 512, 1000, true}, linear_case{1, 1, 1, true}}) {
    INFO("linear ", c.in, " -> ", c.out, ", batch ", c.n);
    const host_tensor x = random_host({c.n, c.in, 1, 1}, 1), w = random_host({c.out, c.in, 1, 1}, 2, -0.05f, 0.05f);
    const host_tensor b = random_host({c.out, 1, 1, 1}, 3), dy = random_host({c.n, c.out, 1, 1}, 4);
    const device_tensor gx = to_device(x), gw = to_device(w), gb = to_device(b), gdy = to_device(dy);
    FERGEN_CHECK_CLOSE(D::forward(dc, gx, gw, c.bias ? &gb : nullptr), H::forward(hc, x, w, c.bias ? &b : nullptr),
                       "forward");
    FERGEN_CHECK_CLOSE(D::backward_data(dc, gdy, gw), H::backward_data(hc, dy, w), "data gradient");
    host_tensor dw(w.shape()), db(b.shape());
    device_tensor gdw(w.shape()), gdb(b.shape());
    H::backward_weight(hc, dy, x, &dw, c.bias ? &db : nullptr);
    D::backward_weight(dc, gdy, gx, &gdw, c.bias ? &gdb : nullptr);
    FERGEN_CHECK_CLOSE(gdw, dw, "weight gradient");
    if (c.bias) FERGEN_CHECK_CLOSE(gdb, db, "bias gradient");
  }
  const host_tensor x({2, 5, 1, 1}), w({3, 4, 1, 1});
  CHECK(error_of([&] { D::forward(dc, to_device(x), to_device(w), nullptr); }) ==
        error_of([&] { H::forward(hc, x, w, nullptr); }));
}
