// fergen/backend/cpu/conv2d_onednn.hpp: float convolutions on oneDNN: forward with bias, data gradient, weight
// and bias gradients. backend/cpu/conv2d.hpp calls these where use_primitive() says so, and keeps
// im2col + gemm and Winograd as the reference the tests compare these against. Compiles to nothing in CUDA builds and
// without oneDNN.
//
// Why: PyTorch's CPU convolutions are oneDNN's direct kernels, generated at run time for the processor (AVX-512
// where it has it) and working on channel-blocked layouts (16 channels in a vector); fergen's im2col + gemm copies
// every input nine times for a 3x3 kernel and runs OpenBLAS's kernel, which the environment may pin to an older
// instruction set. fergen's tensors stay NCHW: each call reorders its inputs into the layouts the primitive asks
// for and its output back, as PyTorch does for its dense tensors.
#pragma once

#include <fergen/backend/conv2d.hpp>
#include <fergen/backend/cpu/conv2d_epilogue.hpp>
#include <fergen/backend/cpu/onednn.hpp>
#include <fergen/core/parallel.hpp>
#include <fergen/core/shape.hpp>

#if FERGEN_CPU_ONEDNN
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace ops::cpu_onednn {

enum class conv_pass : std::int64_t { forward_training, forward_inference, backward_data, backward_weights };

// The post-ops a forward primitive applies to its output (cpu_conv::epilogue without its constants, which are
// run-time arguments): a normalisation (x - mean) * scale + shift as three per-channel binary ops, then a ReLU.
struct post_ops_kind {
  bool normalize = false;
  bool relu = false;

  static post_ops_kind of(const cpu_conv::epilogue<float>& e) { return {e.mean != nullptr, e.relu}; }
  std::int64_t code() const { return (normalize ? 1 : 0) | (relu ? 2 : 0); }
};

// One convolution problem: the pass, the input's shape, the filters and the geometry, whether there is a bias, the
// forward's post-ops, and the thread count (oneDNN fits its blocking and partition to the threads it will run on
// when the primitive is made).
struct conv_key {
  conv_pass pass;
  std::array<std::int64_t, 16> v;  // x n c h w, out channels, geometry (8), bias, post-ops, threads

  conv_key(conv_pass p, const shape& x, std::int64_t out_channels, const conv2d_geometry& g, bool bias,
           post_ops_kind post)
      : pass(p),
        v{x.n, x.c, x.h, x.w, out_channels, g.kernel_h, g.kernel_w, g.stride_h, g.stride_w, g.pad_h, g.pad_w,
          g.dilation_h, g.dilation_w, bias ? 1 : 0, post.code(), thread_count()} {}
  bool operator==(const conv_key&) const = default;
};
struct conv_key_hash {
  std::size_t operator()(const conv_key& k) const {
    std::size_t seed = static_cast<std::size_t>(k.pass);
    for (const auto x : k.v) hash_combine(seed, x);
    return seed;
  }
};

// A prepared convolution: the primitive, the layouts it takes, and the reorders between those and NCHW (null
// where the layouts agree). Inputs a and b, output out, by pass:
//   forward            a = x, b = weight, out = y
//   backward_data      a = dy, b = weight, out = dx
//   backward_weights   a = x, b = dy, out = dweight (reordered with accumulation), plus dbias
struct conv_plan {
  dnnl::primitive compute;
  dnnl::memory::desc a, b, out, scratchpad;
  std::shared_ptr<dnnl::reorder> a_in, b_in, out_back;
};

// Where oneDNN's primitive beats Winograd / im2col over oneDNN's sgemm (cpu_kernels::automatic). Measured with
// bench_core --paths on the 2-core AVX-512 development machine, one thread: see the README's Benchmarks.
inline bool prefers_primitive(conv_pass, const shape&, const shape& w, const conv2d_geometry&) {
  return w.h * w.w > 1 && w.h * w.w < 49;
}

// Whether a float convolution with choice k runs on oneDNN's primitive.
inline bool use_primitive(cpu_kernels k, conv_pass pass, const shape& x, const shape& w, const conv2d_geometry& g) {
  return k == cpu_kernels::onednn || (k == cpu_kernels::automatic && prefers_primitive(pass, x, w, g));
}

inline plan_cache<conv_key, conv_plan, conv_key_hash>& conv_plans() {
  static auto* const cache = new plan_cache<conv_key, conv_plan, conv_key_hash>();  // never destroyed (static order)
  return *cache;
}

struct conv_problem {
  shape x, w, y;
  conv2d_geometry g;

  dims strides() const { return {g.stride_h, g.stride_w}; }
  dims dilates() const { return {g.dilation_h - 1, g.dilation_w - 1}; }  // oneDNN counts the gaps: 0 is none
  dims padding_l() const { return {g.pad_h, g.pad_w}; }
  // PyTorch's floor may leave input rows unread at the bottom and right: oneDNN takes that as a smaller (even
  // negative) padding on that side, so that its output size formula gives the same extent.
  dims padding_r() const {
    return {(y.h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 1 - x.h - g.pad_h,
            (y.w - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w + 1 - x.w - g.pad_w};
  }
  dnnl::memory::desc any(const shape& s) const {
    return {dims{s.n, s.c, s.h, s.w}, dnnl::memory::data_type::f32, tag::any};
  }

  dnnl::convolution_forward::primitive_desc forward_pd(dnnl::prop_kind kind, bool bias,
                                                       const dnnl::primitive_attr& attr) const {
    if (bias) {
      const dnnl::convolution_forward::desc d(kind, dnnl::algorithm::convolution_direct, any(x), any(w), vector_desc(y.c),
                                              any(y), strides(), dilates(), padding_l(), padding_r());
      return {d, attr, engine()};
    }
    const dnnl::convolution_forward::desc d(kind, dnnl::algorithm::convolution_direct, any(x), any(w), any(y), strides(),
                                            dilates(), padding_l(), padding_r());
    return {d, attr, engine()};
  }
};

inline dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // from fergen's pool, per call: no shared buffer
  return attr;
}

// The per-channel operand of a binary post-op: C values broadcast over N, H and W.
inline dnnl::memory::desc per_channel(std::int64_t channels) {
  return {dims{1, channels, 1, 1}, dnnl::memory::data_type::f32, tag::nchw};
}

// The epilogue as post-ops, in cpu_conv::epilogue's order: x - mean, * scale, + shift (binary ops with per-channel
// operands, arguments 0, 1 and 2 at execution), then max(x, 0).
inline void add_post_ops(dnnl::primitive_attr& attr, post_ops_kind post, std::int64_t channels) {
  dnnl::post_ops ops;
  if (post.normalize) {
    ops.append_binary(dnnl::algorithm::binary_sub, per_channel(channels));
    ops.append_binary(dnnl::algorithm::binary_mul, per_channel(channels));
    ops.append_binary(dnnl::algorithm::binary_add, per_channel(channels));
  }
  if (post.relu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  attr.set_post_ops(ops);
}

// The plan for a problem, or null when oneDNN has no implementation for it (the caller takes the reference path).
// A forward with post-ops that only oneDNN's reference implementation takes has no plan either: that kernel is
// slower than the plain primitive followed by fergen's own pass.
inline std::shared_ptr<const conv_plan> plan_for(conv_pass pass, const conv_problem& p, bool bias,
                                                 post_ops_kind post = {}) {
  return conv_plans().get(conv_key(pass, p.x, p.y.c, p.g, bias, post), [&]() -> std::shared_ptr<const conv_plan> {
    try {
      dnnl::primitive_attr attr = user_scratchpad();
      auto plan = std::make_shared<conv_plan>();
      const auto x_plain = plain(p.x), w_plain = plain(p.w, tag::oihw), y_plain = plain(p.y);
      if (pass == conv_pass::forward_training || pass == conv_pass::forward_inference) {
        if (post.code() != 0) add_post_ops(attr, post, p.y.c);
        const auto pd = p.forward_pd(
            pass == conv_pass::forward_training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference,
            bias, attr);
        if (post.code() != 0 && std::string_view(pd.impl_info_str()).starts_with("ref")) return nullptr;
        plan->compute = dnnl::convolution_forward(pd);
        plan->a = pd.src_desc();
        plan->b = pd.weights_desc();
        plan->out = pd.dst_desc();
        plan->scratchpad = pd.scratchpad_desc();
        plan->a_in = make_reorder(x_plain, plan->a);
        plan->b_in = make_reorder(w_plain, plan->b);
        plan->out_back = make_reorder(plan->out, y_plain);
      } else if (pass == conv_pass::backward_data) {
        const auto hint = p.forward_pd(dnnl::prop_kind::forward_training, false, attr);
        const dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, p.any(p.x), p.any(p.w),
                                                      p.any(p.y), p.strides(), p.dilates(), p.padding_l(),
                                                      p.padding_r());
        const dnnl::convolution_backward_data::primitive_desc pd(d, attr, engine(), hint);
        plan->compute = dnnl::convolution_backward_data(pd);
        plan->a = pd.diff_dst_desc();
        plan->b = pd.weights_desc();
        plan->out = pd.diff_src_desc();
        plan->scratchpad = pd.scratchpad_desc();
        plan->a_in = make_reorder(y_plain, plan->a);
        plan->b_in = make_reorder(w_plain, plan->b);
        plan->out_back = make_reorder(plan->out, x_plain);
      } else {
        const auto hint = p.forward_pd(dnnl::prop_kind::forward_training, bias, attr);
        const auto make_desc = [&] {
          if (bias)
            return dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, p.any(p.x), p.any(p.w),
                                                            vector_desc(p.y.c), p.any(p.y), p.strides(), p.dilates(),
                                                            p.padding_l(), p.padding_r());
          return dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, p.any(p.x), p.any(p.w),
                                                          p.any(p.y), p.strides(), p.dilates(), p.padding_l(),
                                                          p.padding_r());
        };
        const dnnl::convolution_backward_weights::primitive_desc pd(make_desc(), attr, engine(), hint);
        plan->compute = dnnl::convolution_backward_weights(pd);
        plan->a = pd.src_desc();
        plan->b = pd.diff_dst_desc();
        plan->out = pd.diff_weights_desc();
        plan->scratchpad = pd.scratchpad_desc();
        plan->a_in = make_reorder(x_plain, plan->a);
        plan->b_in = make_reorder(y_plain, plan->b);
        plan->out_back = make_reorder(plan->out, w_plain, true);  // dweight += the primitive's result
      }
      return plan;
    } catch (const dnnl::error&) {
      return nullptr;
    }
  });
}

// Where the primitive writes its output: the caller's tensor itself when the layouts agree, else a copy in the
// primitive's layout (in `copy`) that plan.out_back then reorders into the tensor.
inline dnnl::memory out_layout(const dnnl::memory& plain_out, const conv_plan& plan, pooled_memory& copy) {
  if (!plan.out_back) return plain_out;
  copy = pooled_memory(plan.out);
  return copy.memory();
}

// y = after(conv(x, w) + bias) (bias may be null, after empty). False, with y untouched, when oneDNN has no kernel
// for the problem.
inline bool forward(const float* x, const float* w, const float* bias, float* y, const conv_problem& p, bool training,
                    const cpu_conv::epilogue<float>& after) {
  const post_ops_kind post = post_ops_kind::of(after);
  const auto plan = plan_for(training ? conv_pass::forward_training : conv_pass::forward_inference, p, bias != nullptr,
                             post);
  if (!plan) return false;
  pooled_memory a_copy, b_copy, out_copy, scratch(plan->scratchpad);
  const dnnl::memory a = in_layout(wrap(plain(p.x), x), plan->a_in, plan->a, a_copy);
  const dnnl::memory b = in_layout(wrap(plain(p.w, tag::oihw), w), plan->b_in, plan->b, b_copy);
  dnnl::memory y_plain = wrap(plain(p.y), y);
  dnnl::memory out = out_layout(y_plain, *plan, out_copy);
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, out}, {DNNL_ARG_SCRATCHPAD, scratch.memory()}};
  if (bias) args.emplace(DNNL_ARG_BIAS, wrap(vector_desc(p.y.c), bias));
  if (post.normalize) {
    int i = 0;
    for (const float* operand : {after.mean, after.scale, after.shift})
      args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(i++) | DNNL_ARG_SRC_1, wrap(per_channel(p.y.c), operand));
  }
  plan->compute.execute(stream(), args);
  if (plan->out_back) plan->out_back->execute(stream(), out, y_plain);
  return true;
}

// dx = the data gradient of the convolution for dy. False, with dx untouched, when oneDNN has no kernel.
inline bool backward_data(const float* dy, const float* w, float* dx, const conv_problem& p) {
  const auto plan = plan_for(conv_pass::backward_data, p, false);
  if (!plan) return false;
  pooled_memory a_copy, b_copy, out_copy, scratch(plan->scratchpad);
  const dnnl::memory a = in_layout(wrap(plain(p.y), dy), plan->a_in, plan->a, a_copy);
  const dnnl::memory b = in_layout(wrap(plain(p.w, tag::oihw), w), plan->b_in, plan->b, b_copy);
  dnnl::memory dx_plain = wrap(plain(p.x), dx);
  dnnl::memory out = out_layout(dx_plain, *plan, out_copy);
  plan->compute.execute(stream(), {{DNNL_ARG_DIFF_DST, a},
                                   {DNNL_ARG_WEIGHTS, b},
                                   {DNNL_ARG_DIFF_SRC, out},
                                   {DNNL_ARG_SCRATCHPAD, scratch.memory()}});
  if (plan->out_back) plan->out_back->execute(stream(), out, dx_plain);
  return true;
}

// dweight += the weight gradient, and dbias += the bias gradient when dbias is not null. False, with both
// untouched, when oneDNN has no kernel.
inline bool backward_weights(const float* x, const float* dy, float* dweight, float* dbias, const conv_problem& p) {
  const auto plan = plan_for(conv_pass::backward_weights, p, dbias != nullptr);
  if (!plan) return false;
  pooled_memory a_copy, b_copy, scratch(plan->scratchpad), out(plan->out);
  const dnnl::memory a = in_layout(wrap(plain(p.x), x), plan->a_in, plan->a, a_copy);
  const dnnl::memory b = in_layout(wrap(plain(p.y), dy), plan->b_in, plan->b, b_copy);
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, a},
                                             {DNNL_ARG_DIFF_DST, b},
                                             {DNNL_ARG_DIFF_WEIGHTS, out.memory()},
                                             {DNNL_ARG_SCRATCHPAD, scratch.memory()}};
  std::optional<pooled_memory> bias_out;
  if (dbias) {
    bias_out.emplace(vector_desc(p.y.c));
    args.emplace(DNNL_ARG_DIFF_BIAS, bias_out->memory());
  }
  plan->compute.execute(stream(), args);
  dnnl::memory result = out.memory(), dweight_plain = wrap(plain(p.w, tag::oihw), dweight);
  plan->out_back->execute(stream(), result, dweight_plain);
  if (dbias)
    for (std::int64_t i = 0; i < p.y.c; ++i) dbias[i] += bias_out->data()[i];
  return true;
}

}  // namespace ops::cpu_onednn
FERGEN_END_NAMESPACE

#endif  // FERGEN_CPU_ONEDNN
