// fergen/backend/cuda/diffusion_steps.hpp: noising, targets, noise and reverse steps on the GPU, so that
// diffusion training and the whole sampling loop run where the network's tensors live. The noise of each sample
// is the CPU's (the same Philox stream, element for element): an image generated on the GPU starts from the
// noise it would start from on the CPU.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cuda/kernels/diffusion_steps.cuh>
#include <fergen/backend/cuda/kernels/engine.cuh>
#include <fergen/backend/cuda/tensor.hpp>
#include <fergen/backend/diffusion_steps.hpp>

#include <cstdint>
#include <span>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <>
struct diffusion_steps<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;
  using context_type = context<cuda<float>>;

  static tensor_type combine(context_type& ctx, const tensor_type& x, std::span<const double> a, const tensor_type& y,
                             std::span<const double> b) {
    const shape s = x.shape();
    require(y.shape() == s, "diffusion combine: shapes ", s, " and ", y.shape(), " differ");
    check_per_sample(a, s.n, "diffusion combine", "first");
    check_per_sample(b, s.n, "diffusion combine", "second");
    tensor_type out = tensor_type::uninitialized(s);
    cuda_kernels::device_engine e(ctx.resources);
    cuda_kernels::diffusion_combine_forward(e, x.data(), a, y.data(), b, s.n, s.per_sample(), out.data());
    return out;
  }

  static void check_streams(std::span<const random_stream> streams, std::int64_t n, const char* what) {
    require(static_cast<std::int64_t>(streams.size()) == n, what, ": ", streams.size(), " random streams for a batch of ",
            n, " (one per sample)");
  }

  static tensor_type normal(context_type& ctx, const shape& s, std::span<const random_stream> streams,
                            std::uint64_t offset) {
    require(s.valid(), "diffusion normal: invalid shape ", s);
    check_streams(streams, s.n, "diffusion normal");
    tensor_type z = tensor_type::uninitialized(s);
    cuda_kernels::device_engine e(ctx.resources);
    cuda_kernels::diffusion_normal_forward(e, streams, s.per_sample(), offset, z.data());
    return z;
  }

  static tensor_type reverse_step(context_type& ctx, const tensor_type& x_t, const tensor_type& output,
                                  const reverse_step_coefficients& c, std::span<const random_stream> streams,
                                  std::uint64_t offset) {
    const shape s = x_t.shape();
    require(output.shape() == s, "diffusion reverse_step: model output ", output.shape(), " does not match x_t ", s);
    require(!c.clip || c.clip_min <= c.clip_max, "diffusion reverse_step: clip range [", c.clip_min, ", ", c.clip_max,
            "] is empty");
    if (c.sigma != 0) check_streams(streams, s.n, "diffusion reverse_step");
    tensor_type out = tensor_type::uninitialized(s);
    cuda_kernels::device_engine e(ctx.resources);
    cuda_kernels::diffusion_reverse_step_forward(e, x_t.data(), output.data(), s.n, s.per_sample(), c, streams, offset,
                                                 out.data());
    return out;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
