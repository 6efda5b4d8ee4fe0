// fergen/backend/cuda/kernels/embedding.cuh: table lookup (class labels -> vectors) and its gradient, without
// atomics: each table element adds the gradients of the samples that chose its row, in sample order.
#pragma once

#include <fergen/backend/cuda/kernels/launch.cuh>

#include <cstdint>
#include <span>
#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace ops::cuda_kernels {

// y[n, d] = weight[indices[n], d].
struct embedding_gather {
  const float* weight;
  const std::int64_t* indices;
  float* y;
  std::int64_t dim;
  FERGEN_HD void operator()(std::int64_t i) const { y[i] = weight[indices[i / dim] * dim + i % dim]; }
};

// One thread per table element (row r, column d): dweight[r, d] += dy[n, d] for every sample n with
// indices[n] == r, in sample order and in float, which is the CPU's serial loop for that element, so the bits
// agree. Two samples with the same label never race. Tables are small (classes x embedding width) and so are
// batches, so the N-fold loop costs little.
struct embedding_accumulate {
  const float* dy;
  const std::int64_t* indices;
  float* dweight;
  std::int64_t samples, dim;
  FERGEN_HD void operator()(std::int64_t i) const {
    const std::int64_t row = i / dim, d = i % dim;
    float acc = dweight[i];
    for (std::int64_t n = 0; n < samples; ++n)
      if (indices[n] == row) acc += dy[n * dim + d];
    dweight[i] = acc;
  }
};

// The passes over an engine (kernels/engine.cuh). Indices are host values (checked by the caller); they are
// uploaded here.
template <class Engine>
void embedding_forward(Engine& e, const float* weight, std::int64_t dim, std::span<const std::int64_t> indices,
                       float* y) {
  if (indices.empty() || dim == 0) return;
  const auto device_indices = e.allocate(indices.size_bytes(), "embedding indices");
  e.upload(device_indices.get(), indices.data(), indices.size_bytes());
  e.for_each(static_cast<std::int64_t>(indices.size()) * dim,
             embedding_gather{weight, static_cast<const std::int64_t*>(device_indices.get()), y, dim}, "embedding");
}

template <class Engine>
void embedding_backward(Engine& e, const float* dy, std::span<const std::int64_t> indices, std::int64_t rows,
                        std::int64_t dim, float* dweight) {
  if (indices.empty() || dim == 0) return;
  const auto device_indices = e.allocate(indices.size_bytes(), "embedding indices");
  e.upload(device_indices.get(), indices.data(), indices.size_bytes());
  e.for_each(rows * dim,
             embedding_accumulate{dy, static_cast<const std::int64_t*>(device_indices.get()), dweight,
                                  static_cast<std::int64_t>(indices.size()), dim},
             "embedding backward");
}

}  // namespace ops::cuda_kernels
FERGEN_END_NAMESPACE
