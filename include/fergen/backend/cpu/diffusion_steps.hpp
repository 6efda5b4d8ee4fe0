// fergen/backend/cpu/diffusion_steps.hpp: noising, targets and reverse steps on the CPU, one task per sample.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/backend/diffusion_steps.hpp>
#include <fergen/core/parallel.hpp>

#include <algorithm>
#include <cstdint>
#include <span>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <real T>
struct diffusion_steps<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;
  using context_type = context<cpu<T>>;

  static double at(std::span<const double> v, std::int64_t n) { return v.size() == 1 ? v[0] : v[static_cast<std::size_t>(n)]; }

  static tensor_type combine(context_type&, const tensor_type& x, std::span<const double> a, const tensor_type& y,
                             std::span<const double> b) {
    const shape s = x.shape();
    require(y.shape() == s, "diffusion combine: shapes ", s, " and ", y.shape(), " differ");
    check_per_sample(a, s.n, "diffusion combine", "first");
    check_per_sample(b, s.n, "diffusion combine", "second");
    tensor_type out = tensor_type::uninitialized(s);
    const std::int64_t per = s.per_sample();
    parallel_for(s.n, [&](std::int64_t n) {
      const T ca = static_cast<T>(at(a, n)), cb = static_cast<T>(at(b, n));
      const T* px = x.data() + n * per;
      const T* py = y.data() + n * per;
      T* po = out.data() + n * per;
      for (std::int64_t i = 0; i < per; ++i) po[i] = ca * px[i] + cb * py[i];
    });
    return out;
  }

  static void check_streams(std::span<const random_stream> streams, std::int64_t n, const char* what) {
    require(static_cast<std::int64_t>(streams.size()) == n, what, ": ", streams.size(), " random streams for a batch of ",
            n, " (one per sample)");
  }

  static tensor_type normal(context_type&, const shape& s, std::span<const random_stream> streams, std::uint64_t offset) {
    require(s.valid(), "diffusion normal: invalid shape ", s);
    check_streams(streams, s.n, "diffusion normal");
    tensor_type z = tensor_type::uninitialized(s);
    const std::int64_t per = s.per_sample();
    parallel_for(s.n, [&](std::int64_t n) {
      const random_stream& r = streams[static_cast<std::size_t>(n)];
      T* pz = z.data() + n * per;
      for (std::int64_t i = 0; i < per; ++i) pz[i] = static_cast<T>(r.normal(offset + static_cast<std::uint64_t>(i)));
    });
    return z;
  }

  static tensor_type reverse_step(context_type&, const tensor_type& x_t, const tensor_type& output,
                                  const reverse_step_coefficients& c, std::span<const random_stream> streams,
                                  std::uint64_t offset) {
    const shape s = x_t.shape();
    require(output.shape() == s, "diffusion reverse_step: model output ", output.shape(), " does not match x_t ", s);
    require(!c.clip || c.clip_min <= c.clip_max, "diffusion reverse_step: clip range [", c.clip_min, ", ", c.clip_max,
            "] is empty");
    if (c.sigma != 0) check_streams(streams, s.n, "diffusion reverse_step");
    tensor_type out = tensor_type::uninitialized(s);
    const std::int64_t per = s.per_sample();
    const T a = static_cast<T>(c.x0_from_xt), b = static_cast<T>(c.x0_from_output);
    const T lo = static_cast<T>(c.clip_min), hi = static_cast<T>(c.clip_max);
    const T p = static_cast<T>(c.prev_from_x0), q = static_cast<T>(c.prev_from_xt), sigma = static_cast<T>(c.sigma);
    parallel_for(s.n, [&](std::int64_t n) {
      const T* px = x_t.data() + n * per;
      const T* po = output.data() + n * per;
      T* py = out.data() + n * per;
      for (std::int64_t i = 0; i < per; ++i) {
        T x0 = a * px[i] + b * po[i];
        if (c.clip) x0 = std::clamp(x0, lo, hi);
        py[i] = p * x0 + q * px[i];
      }
      if (c.sigma != 0) {
        const random_stream& r = streams[static_cast<std::size_t>(n)];
        for (std::int64_t i = 0; i < per; ++i)
          py[i] += sigma * static_cast<T>(r.normal(offset + static_cast<std::uint64_t>(i)));
      }
    });
    return out;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
