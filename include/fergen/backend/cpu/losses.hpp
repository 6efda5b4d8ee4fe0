// fergen/backend/cpu/losses.hpp: loss functions on the CPU.
#pragma once

#include <fergen/backend/context.hpp>
#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/backend/losses.hpp>
#include <fergen/core/parallel.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace ops {

template <real T>
struct losses<cpu<T>> {
  using tensor_type = tensor<cpu<T>>;

  static std::pair<double, tensor_type> softmax_cross_entropy(context<cpu<T>>&, const tensor_type& logits,
                                                              std::span<const std::int64_t> labels,
                                                              double label_smoothing) {
    const shape s = logits.shape();
    const std::int64_t classes = s.per_sample();
    require(static_cast<std::int64_t>(labels.size()) == s.n, "cross_entropy: ", labels.size(), " labels for logits ",
            s, " (one per sample)");
    require(label_smoothing >= 0.0 && label_smoothing <= 1.0, "cross_entropy: label_smoothing ", label_smoothing,
            " is outside [0, 1]");
    for (std::size_t n = 0; n < labels.size(); ++n)
      require(labels[n] >= 0 && labels[n] < classes, "cross_entropy: label ", labels[n], " of sample ", n,
              " is outside [0, ", classes, ") for logits ", s);
    tensor_type grad = tensor_type::uninitialized(s);
    std::vector<double> per_sample(static_cast<std::size_t>(s.n));
    const double off_target = label_smoothing / static_cast<double>(classes);
    const double on_target = 1.0 - label_smoothing + off_target;
    parallel_for(s.n, [&](std::int64_t n) {
      const T* z = logits.data() + n * classes;
      T* g = grad.data() + n * classes;
      // log-sum-exp about the maximum: no overflow for large logits.
      const double top = static_cast<double>(*std::max_element(z, z + classes));
      double sum = 0;
      for (std::int64_t k = 0; k < classes; ++k) sum += std::exp(static_cast<double>(z[k]) - top);
      const double log_sum = top + std::log(sum);
      double loss = 0;
      const auto label = labels[static_cast<std::size_t>(n)];
      for (std::int64_t k = 0; k < classes; ++k) {
        const double log_p = static_cast<double>(z[k]) - log_sum;
        const double q = k == label ? on_target : off_target;
        loss -= q * log_p;
        g[k] = static_cast<T>((std::exp(log_p) - q) / static_cast<double>(s.n));
      }
      per_sample[static_cast<std::size_t>(n)] = loss;
    });
    double total = 0;
    for (double l : per_sample) total += l;
    return {s.n > 0 ? total / static_cast<double>(s.n) : 0.0, std::move(grad)};
  }

  static std::pair<double, tensor_type> mse(context<cpu<T>>&, const tensor_type& prediction, const tensor_type& target,
                                            std::span<const double> sample_weights) {
    const shape s = prediction.shape();
    require(target.shape() == s, "mse: prediction ", s, " and target ", target.shape(), " differ in shape");
    require(sample_weights.empty() || static_cast<std::int64_t>(sample_weights.size()) == s.n, "mse: ",
            sample_weights.size(), " sample weights for a batch of ", s.n);
    tensor_type grad = tensor_type::uninitialized(s);
    const std::int64_t per = s.per_sample();
    const double count = static_cast<double>(s.size());
    std::vector<double> per_sample(static_cast<std::size_t>(s.n));
    parallel_for(s.n, [&](std::int64_t n) {
      const double w = sample_weights.empty() ? 1.0 : sample_weights[static_cast<std::size_t>(n)];
      const T* p = prediction.data() + n * per;
      const T* t = target.data() + n * per;
      T* g = grad.data() + n * per;
      double sum = 0;
      for (std::int64_t i = 0; i < per; ++i) {
        const double d = static_cast<double>(p[i]) - static_cast<double>(t[i]);
        sum += d * d;
        g[i] = static_cast<T>(2.0 * w * d / count);
      }
      per_sample[static_cast<std::size_t>(n)] = w * sum;
    });
    double total = 0;
    for (double l : per_sample) total += l;
    return {count > 0 ? total / count : 0.0, std::move(grad)};
  }
};

}  // namespace ops
FERGEN_END_NAMESPACE
