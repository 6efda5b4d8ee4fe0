// fergen/backend/cuda/losses.hpp: loss functions on the GPU. Each returns its value to the host, so each
// waits for the GPU once.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cuda/kernels/engine.cuh>
#include <fergen/backend/cuda/kernels/losses.cuh>
#include <fergen/backend/cuda/tensor.hpp>
#include <fergen/backend/losses.hpp>

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <>
struct losses<cuda<float>> {
  using tensor_type = tensor<cuda<float>>;
  using context_type = context<cuda<float>>;

  static std::pair<double, tensor_type> softmax_cross_entropy(context_type& ctx, const tensor_type& logits,
                                                              std::span<const std::int64_t> labels,
                                                              double label_smoothing) {
    const shape s = logits.shape();
    const std::int64_t classes = s.per_sample();
    require(static_cast<std::int64_t>(labels.size()) == s.n, "cross_entropy: ", labels.size(), " labels for logits ", s,
            " (one per sample)");
    require(label_smoothing >= 0.0 && label_smoothing <= 1.0, "cross_entropy: label_smoothing ", label_smoothing,
            " is outside [0, 1]");
    for (std::size_t n = 0; n < labels.size(); ++n)
      require(labels[n] >= 0 && labels[n] < classes, "cross_entropy: label ", labels[n], " of sample ", n,
              " is outside [0, ", classes, ") for logits ", s);
    tensor_type grad = tensor_type::uninitialized(s);
    if (s.n == 0) return {0.0, std::move(grad)};
    auto& rt = ctx.resources.runtime();
    const cuda_detail::device_allocation device_labels(rt, labels.size_bytes(), "cross_entropy labels");
    const cuda_detail::device_allocation per_sample(rt, static_cast<std::size_t>(s.n) * sizeof(double),
                                                    "cross_entropy losses");
    FERGEN_CUDA_CHECK(
        cudaMemcpyAsync(device_labels.get(), labels.data(), labels.size_bytes(), cudaMemcpyHostToDevice, rt.stream));
    const double off_target = label_smoothing / static_cast<double>(classes);
    const double on_target = 1.0 - label_smoothing + off_target;
    cuda_kernels::for_each_index(rt.stream, s.n,
                                 cuda_kernels::softmax_cross_entropy_sample{
                                     logits.data(), static_cast<const std::int64_t*>(device_labels.get()), grad.data(),
                                     static_cast<double*>(per_sample.get()), s.n, classes, on_target, off_target},
                                 "cross_entropy");
    return {mean_of(rt, per_sample, s.n, static_cast<double>(s.n)), std::move(grad)};
  }

  static std::pair<double, tensor_type> mse(context_type& ctx, const tensor_type& prediction, const tensor_type& target,
                                            std::span<const double> sample_weights) {
    const shape s = prediction.shape();
    require(target.shape() == s, "mse: prediction ", s, " and target ", target.shape(), " differ in shape");
    require(sample_weights.empty() || static_cast<std::int64_t>(sample_weights.size()) == s.n,
            "mse: ", sample_weights.size(), " sample weights for a batch of ", s.n);
    tensor_type grad = tensor_type::uninitialized(s);
    if (s.size() == 0) return {0.0, std::move(grad)};
    auto& rt = ctx.resources.runtime();
    const cuda_detail::device_allocation weights(rt, sample_weights.size_bytes(), "mse sample weights");
    if (!sample_weights.empty())
      FERGEN_CUDA_CHECK(cudaMemcpyAsync(weights.get(), sample_weights.data(), sample_weights.size_bytes(),
                                        cudaMemcpyHostToDevice, rt.stream));
    const cuda_detail::device_allocation per_sample(rt, static_cast<std::size_t>(s.n) * sizeof(double), "mse losses");
    cuda_kernels::device_engine e(ctx.resources);
    cuda_kernels::mse_per_sample(e, prediction.data(), target.data(), static_cast<const double*>(weights.get()), s.n,
                                 s.per_sample(), grad.data(), static_cast<double*>(per_sample.get()));
    const double count = static_cast<double>(s.size());
    return {mean_of(rt, per_sample, s.n, count), std::move(grad)};
  }

 private:
  // The per-sample values back on the host, added in sample order as the CPU adds them, over `count`.
  static double mean_of(cuda_detail::device_runtime& rt, const cuda_detail::device_allocation& per_sample,
                        std::int64_t n, double count) {
    std::vector<double> values(static_cast<std::size_t>(n));
    FERGEN_CUDA_CHECK(cudaMemcpyAsync(values.data(), per_sample.get(), values.size() * sizeof(double),
                                      cudaMemcpyDeviceToHost, rt.stream));
    FERGEN_CUDA_CHECK(cudaStreamSynchronize(rt.stream));
    double total = 0;
    for (double v : values) total += v;
    return total / count;
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
