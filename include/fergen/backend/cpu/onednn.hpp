// fergen/backend/cpu/onednn.hpp: what every oneDNN call of the CPU backend shares: the engine, a stream per
// thread, plain memory descriptors over fergen's NCHW tensors, and the cache of prepared primitives.
// Compiles to nothing in builds without oneDNN and in CUDA builds (FERGEN_CPU_ONEDNN, backend/cpu/kernels.hpp).
#pragma once

#include <fergen/backend/cpu/kernels.hpp>
#include <fergen/backend/cpu/memory_pool.hpp>
#include <fergen/core/shape.hpp>

#if FERGEN_CPU_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

FERGEN_BEGIN_NAMESPACE
namespace ops::cpu_onednn {

using tag = dnnl::memory::format_tag;
using dims = dnnl::memory::dims;

// One CPU engine for the process (oneDNN's engines are cheap handles, but primitives are tied to the one they
// were made for).
inline const dnnl::engine& engine() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// CPU streams execute synchronously on the calling thread; one per thread keeps threads from sharing one.
inline dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

// fergen's tensors as oneDNN sees them: float, dense, NCHW (weights OIHW).
inline dnnl::memory::desc plain(const shape& s, tag layout = tag::nchw) {
  return {dims{s.n, s.c, s.h, s.w}, dnnl::memory::data_type::f32, layout};
}
inline dnnl::memory::desc vector_desc(std::int64_t n) { return {dims{n}, dnnl::memory::data_type::f32, tag::x}; }

// Memory over a pointer fergen owns (oneDNN never frees it). oneDNN takes non-const handles; inputs are only read.
inline dnnl::memory wrap(const dnnl::memory::desc& d, const float* p) {
  return dnnl::memory(d, engine(), const_cast<float*>(p));
}

// A block of the CPU pool sized for a oneDNN memory descriptor (a blocked copy of a tensor, or a scratchpad):
// reorders and scratchpads come and go with every call, so they use the pool as tensors do.
class pooled_memory {
 public:
  pooled_memory() = default;
  explicit pooled_memory(const dnnl::memory::desc& d)
      : buffer_(static_cast<std::int64_t>((d.get_size() + sizeof(float) - 1) / sizeof(float))),
        memory_(d, engine(), buffer_.get()) {}
  dnnl::memory memory() const { return memory_; }  // a handle: copies share the memory
  float* data() const { return buffer_.get(); }

 private:
  cpu_detail::scratch_buffer<float> buffer_;
  dnnl::memory memory_;
};

// A reorder between two layouts, made once with the plan that needs it; empty when the layouts are equal.
// accumulate: the destination's old values are kept and the source added (the weight gradient's +=).
inline std::shared_ptr<dnnl::reorder> make_reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to,
                                                   bool accumulate = false) {
  if (from == to && !accumulate) return nullptr;
  dnnl::primitive_attr attr;
  if (accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  return std::make_shared<dnnl::reorder>(dnnl::reorder::primitive_desc(engine(), from, engine(), to, attr));
}

// `plain` in the layout `wanted`: the tensor itself when the layouts agree, else a reordered copy in `copy`.
inline dnnl::memory in_layout(dnnl::memory plain, const std::shared_ptr<dnnl::reorder>& reorder,
                              const dnnl::memory::desc& wanted, pooled_memory& copy) {
  if (!reorder) return plain;
  copy = pooled_memory(wanted);
  dnnl::memory out = copy.memory();
  reorder->execute(stream(), plain, out);
  return out;
}

// Prepared primitives by problem. Making a primitive descriptor walks oneDNN's list of implementations (tens of
// microseconds to a millisecond); a training step makes the same few dozen every time, so each is made once per
// problem and thread count. Bounded: a program that keeps changing shapes starts the cache afresh.
template <class Key, class Plan, class Hash>
class plan_cache {
 public:
  static constexpr std::size_t capacity = 1024;

  // The plan for `key`, made by make() on the first request (outside the lock: making one can take a
  // millisecond, and another thread may want another plan meanwhile).
  template <class Make>
  std::shared_ptr<const Plan> get(const Key& key, Make&& make) {
    {
      std::lock_guard lock(mutex_);
      if (auto it = plans_.find(key); it != plans_.end()) return it->second;
    }
    std::shared_ptr<const Plan> plan = make();
    std::lock_guard lock(mutex_);
    if (plans_.size() >= capacity) plans_.clear();
    return plans_.try_emplace(key, std::move(plan)).first->second;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<Key, std::shared_ptr<const Plan>, Hash> plans_;
};

// Boost's hash_combine, for keys made of integers.
inline void hash_combine(std::size_t& seed, std::int64_t v) {
  seed ^= std::hash<std::int64_t>{}(v) + 0x9e3779b97f4a7c15ull + (seed << 6) + (seed >> 2);
}

// What oneDNN says about itself and the processor, for benchmarks' headers: "oneDNN 2.6.3, avx512_core_bf16".
inline std::string describe() {
  const dnnl_version_t* v = dnnl_version();
  std::string isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: isa = "sse41"; break;
    case dnnl::cpu_isa::avx: isa = "avx"; break;
    case dnnl::cpu_isa::avx2: isa = "avx2"; break;
    case dnnl::cpu_isa::avx2_vnni: isa = "avx2_vnni"; break;
    case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
    default: isa = "other"; break;
  }
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) + ", " +
         isa;
}

}  // namespace ops::cpu_onednn
FERGEN_END_NAMESPACE

#endif  // FERGEN_CPU_ONEDNN
