// fergen/backend/cuda/cudnn.hpp: cuDNN convolution descriptors and the choice of algorithm (fp32 math unless
// TF32 is allowed, deterministic unless allowed otherwise, within the workspace limit), cached per problem.
// Only in builds with cuDNN (FERGEN_WITH_CUDNN).
#pragma once

#include <fergen/backend/conv2d.hpp>
#include <fergen/backend/cuda/check.hpp>
#include <fergen/backend/cuda/cuda.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/shape.hpp>

#if FERGEN_WITH_CUDNN

#include <compare>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_cudnn {

// cuDNN's 4-D descriptors take int sizes and its kernels index tensors of fewer than 2^31 elements; larger
// problems go to fergen's own (64-bit) convolution.
inline bool fits(const shape& s) {
  return s.size() < std::numeric_limits<int>::max() && s.n <= std::numeric_limits<int>::max();
}
inline int as_int(std::int64_t v) { return static_cast<int>(v); }

class tensor_descriptor {
 public:
  explicit tensor_descriptor(const shape& s) {
    FERGEN_CUDA_CHECK(cudnnCreateTensorDescriptor(&d_));
    FERGEN_CUDA_CHECK(cudnnSetTensor4dDescriptor(d_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, as_int(s.n), as_int(s.c),
                                                 as_int(s.h), as_int(s.w)));
  }
  ~tensor_descriptor() { (void)cudnnDestroyTensorDescriptor(d_); }
  tensor_descriptor(const tensor_descriptor&) = delete;
  tensor_descriptor& operator=(const tensor_descriptor&) = delete;
  cudnnTensorDescriptor_t get() const { return d_; }

 private:
  cudnnTensorDescriptor_t d_ = nullptr;
};

class filter_descriptor {
 public:
  explicit filter_descriptor(const shape& s) {
    FERGEN_CUDA_CHECK(cudnnCreateFilterDescriptor(&d_));
    FERGEN_CUDA_CHECK(cudnnSetFilter4dDescriptor(d_, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, as_int(s.n), as_int(s.c),
                                                 as_int(s.h), as_int(s.w)));
  }
  ~filter_descriptor() { (void)cudnnDestroyFilterDescriptor(d_); }
  filter_descriptor(const filter_descriptor&) = delete;
  filter_descriptor& operator=(const filter_descriptor&) = delete;
  cudnnFilterDescriptor_t get() const { return d_; }

 private:
  cudnnFilterDescriptor_t d_ = nullptr;
};

class convolution_descriptor {
 public:
  explicit convolution_descriptor(const conv2d_geometry& g) {
    FERGEN_CUDA_CHECK(cudnnCreateConvolutionDescriptor(&d_));
    // Cross-correlation, as torch.nn.Conv2d (and fergen's CPU kernel) computes.
    FERGEN_CUDA_CHECK(cudnnSetConvolution2dDescriptor(d_, as_int(g.pad_h), as_int(g.pad_w), as_int(g.stride_h),
                                                      as_int(g.stride_w), as_int(g.dilation_h), as_int(g.dilation_w),
                                                      CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  }
  ~convolution_descriptor() { (void)cudnnDestroyConvolutionDescriptor(d_); }
  convolution_descriptor(const convolution_descriptor&) = delete;
  convolution_descriptor& operator=(const convolution_descriptor&) = delete;
  cudnnConvolutionDescriptor_t get() const { return d_; }

  void set_math(cudnnMathType_t math) const { FERGEN_CUDA_CHECK(cudnnSetConvolutionMathType(d_, math)); }

 private:
  cudnnConvolutionDescriptor_t d_ = nullptr;
};

// Everything cuDNN needs to know about one convolution call.
struct problem {
  tensor_descriptor x;
  filter_descriptor w;
  tensor_descriptor y;
  convolution_descriptor conv;
  problem(const shape& xs, const shape& ws, const shape& ys, const conv2d_geometry& g) : x(xs), w(ws), y(ys), conv(g) {}
};

enum class direction { forward, backward_data, backward_filter };

// An algorithm with the math type to run it in and the workspace it needs; algo < 0: none qualifies.
struct algorithm {
  int algo = -1;
  cudnnMathType_t math = CUDNN_FMA_MATH;
  std::size_t workspace = 0;
  bool found() const { return algo >= 0; }
};

struct problem_key {
  int device;
  direction dir;
  std::int64_t n, c, h, w, oc, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  bool tf32, deterministic;
  std::size_t workspace_limit;
  friend auto operator<=>(const problem_key&, const problem_key&) = default;
};

inline std::mutex& cache_mutex() {
  static std::mutex m;
  return m;
}
inline std::map<problem_key, algorithm>& cache() {
  static auto& c = *new std::map<problem_key, algorithm>();  // outlives static tensors, as the device runtime
  return c;
}

// Without TF32, only kernels of plain fp32 arithmetic: CUDNN_FMA_MATH, as PyTorch sets it with allow_tf32
// off (CUDNN_DEFAULT_MATH admits TF32 on Ampere and later). Conversions to half precision are never taken.
inline bool admissible_math(cudnnMathType_t math, bool tf32) {
  if (math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) return false;
  return tf32 || math != CUDNN_TENSOR_OP_MATH;
}

// cuDNN's heuristics rank the algorithms (cudnnGet*Algorithm_v7, what PyTorch uses without
// cudnn.benchmark); the first that succeeds in the heuristic, is deterministic when required, has an
// admissible math type and fits the workspace limit is taken.
template <direction D>
algorithm choose(cuda_resources& r, const problem& p, const problem_key& key) {
  {
    const std::lock_guard lock(cache_mutex());
    const auto it = cache().find(key);
    if (it != cache().end()) return it->second;
  }
  const cudnnHandle_t h = r.cudnn();
  p.conv.set_math(key.tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH);
  algorithm chosen;
  const auto consider = [&](const auto& perf) {
    if (chosen.found() || perf.status != CUDNN_STATUS_SUCCESS) return;
    if (key.deterministic && perf.determinism != CUDNN_DETERMINISTIC) return;
    if (!admissible_math(perf.mathType, key.tf32)) return;
    const cudnnMathType_t math = key.tf32 ? perf.mathType : CUDNN_FMA_MATH;
    p.conv.set_math(math);
    std::size_t bytes = 0;
    cudnnStatus_t status;
    if constexpr (D == direction::forward)
      status =
          cudnnGetConvolutionForwardWorkspaceSize(h, p.x.get(), p.w.get(), p.conv.get(), p.y.get(), perf.algo, &bytes);
    else if constexpr (D == direction::backward_data)
      status = cudnnGetConvolutionBackwardDataWorkspaceSize(h, p.w.get(), p.y.get(), p.conv.get(), p.x.get(), perf.algo,
                                                            &bytes);
    else
      status = cudnnGetConvolutionBackwardFilterWorkspaceSize(h, p.x.get(), p.y.get(), p.conv.get(), p.w.get(),
                                                              perf.algo, &bytes);
    if (status != CUDNN_STATUS_SUCCESS || bytes > key.workspace_limit) return;
    chosen = {static_cast<int>(perf.algo), math, bytes};
  };
  int count = 0, returned = 0;
  if constexpr (D == direction::forward) {
    FERGEN_CUDA_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &count));
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(static_cast<std::size_t>(count));
    FERGEN_CUDA_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, p.x.get(), p.w.get(), p.conv.get(), p.y.get(), count,
                                                             &returned, perf.data()));
    for (int i = 0; i < returned; ++i) consider(perf[static_cast<std::size_t>(i)]);
  } else if constexpr (D == direction::backward_data) {
    FERGEN_CUDA_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &count));
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(static_cast<std::size_t>(count));
    FERGEN_CUDA_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p.w.get(), p.y.get(), p.conv.get(), p.x.get(),
                                                                  count, &returned, perf.data()));
    for (int i = 0; i < returned; ++i) consider(perf[static_cast<std::size_t>(i)]);
  } else {
    FERGEN_CUDA_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &count));
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(static_cast<std::size_t>(count));
    FERGEN_CUDA_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p.x.get(), p.y.get(), p.conv.get(), p.w.get(),
                                                                    count, &returned, perf.data()));
    for (int i = 0; i < returned; ++i) consider(perf[static_cast<std::size_t>(i)]);
  }
  const std::lock_guard lock(cache_mutex());
  cache().emplace(key, chosen);
  return chosen;
}

inline problem_key key_of(cuda_resources& r, direction dir, const shape& xs, const shape& ws,
                          const conv2d_geometry& g) {
  return {.device = r.device(),
          .dir = dir,
          .n = xs.n,
          .c = xs.c,
          .h = xs.h,
          .w = xs.w,
          .oc = ws.n,
          .kernel_h = g.kernel_h,
          .kernel_w = g.kernel_w,
          .stride_h = g.stride_h,
          .stride_w = g.stride_w,
          .pad_h = g.pad_h,
          .pad_w = g.pad_w,
          .dilation_h = g.dilation_h,
          .dilation_w = g.dilation_w,
          .tf32 = r.allow_tf32,
          .deterministic = r.deterministic,
          .workspace_limit = r.workspace_limit};
}

// The three passes. Each returns false, having done nothing, when no algorithm qualifies (the caller then
// computes with im2col + cuBLAS). y and dx are overwritten; dw is accumulated into (beta = 1).
inline bool forward(cuda_resources& r, const float* x, const shape& xs, const float* w, const shape& ws, float* y,
                    const shape& ys, const conv2d_geometry& g) {
  if (!fits(xs) || !fits(ws) || !fits(ys)) return false;
  const problem p(xs, ws, ys, g);
  const algorithm a = choose<direction::forward>(r, p, key_of(r, direction::forward, xs, ws, g));
  if (!a.found()) return false;
  p.conv.set_math(a.math);
  void* workspace = a.workspace ? r.scratch(a.workspace) : nullptr;
  const float one = 1, zero = 0;
  FERGEN_CUDA_CHECK(cudnnConvolutionForward(r.cudnn(), &one, p.x.get(), x, p.w.get(), w, p.conv.get(),
                                            static_cast<cudnnConvolutionFwdAlgo_t>(a.algo), workspace, a.workspace,
                                            &zero, p.y.get(), y));
  return true;
}

inline bool backward_data(cuda_resources& r, const float* dy, const shape& ys, const float* w, const shape& ws,
                          float* dx, const shape& xs, const conv2d_geometry& g) {
  if (!fits(xs) || !fits(ws) || !fits(ys)) return false;
  const problem p(xs, ws, ys, g);
  const algorithm a = choose<direction::backward_data>(r, p, key_of(r, direction::backward_data, xs, ws, g));
  if (!a.found()) return false;
  p.conv.set_math(a.math);
  void* workspace = a.workspace ? r.scratch(a.workspace) : nullptr;
  const float one = 1, zero = 0;
  FERGEN_CUDA_CHECK(cudnnConvolutionBackwardData(r.cudnn(), &one, p.w.get(), w, p.y.get(), dy, p.conv.get(),
                                                 static_cast<cudnnConvolutionBwdDataAlgo_t>(a.algo), workspace,
                                                 a.workspace, &zero, p.x.get(), dx));
  return true;
}

inline bool backward_filter(cuda_resources& r, const float* x, const shape& xs, const float* dy, const shape& ys,
                            float* dw, const shape& ws, const conv2d_geometry& g) {
  if (!fits(xs) || !fits(ws) || !fits(ys)) return false;
  const problem p(xs, ws, ys, g);
  const algorithm a = choose<direction::backward_filter>(r, p, key_of(r, direction::backward_filter, xs, ws, g));
  if (!a.found()) return false;
  p.conv.set_math(a.math);
  void* workspace = a.workspace ? r.scratch(a.workspace) : nullptr;
  const float one = 1;
  FERGEN_CUDA_CHECK(cudnnConvolutionBackwardFilter(r.cudnn(), &one, p.x.get(), x, p.y.get(), dy, p.conv.get(),
                                                   static_cast<cudnnConvolutionBwdFilterAlgo_t>(a.algo), workspace,
                                                   a.workspace, &one, p.w.get(), dw));
  return true;
}

}  // namespace ops::cuda_cudnn
FERGEN_END_NAMESPACE

#endif  // FERGEN_WITH_CUDNN
