// fergen/nn/parameter.hpp: learnable parameters and buffers, as layers own them.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/shape.hpp>
#include <fergen/core/tensor.hpp>

#include <cstdint>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace nn {

// PyTorch's shape of a parameter ({out, in} for a linear weight, {C} for a bias): the shape .npz weight
// files hold and strict loading compares. Storage is always a 4-D tensor: trailing dimensions become 1.
struct dims {
  std::vector<std::int64_t> extents;

  dims() = default;
  dims(std::initializer_list<std::int64_t> e) : extents(e) {}
  explicit dims(std::vector<std::int64_t> e) : extents(std::move(e)) {}

  std::int64_t count() const {
    std::int64_t product = 1;
    for (auto e : extents) product *= e;
    return product;
  }
  shape storage() const {
    require(extents.size() <= 4, "parameter shape ", *this, " has more than 4 dimensions");
    std::int64_t e[4] = {1, 1, 1, 1};
    for (std::size_t i = 0; i < extents.size(); ++i) e[i] = extents[i];
    return {e[0], e[1], e[2], e[3]};
  }
  friend bool operator==(const dims&, const dims&) = default;
  friend std::ostream& operator<<(std::ostream& out, const dims& d) {
    out << '(';
    for (std::size_t i = 0; i < d.extents.size(); ++i) out << (i ? ", " : "") << d.extents[i];
    return out << (d.extents.size() == 1 ? ",)" : ")");
  }
};

// How nn::initialize fills a parameter: layers state PyTorch's default for each of theirs, and models
// (torchvision's ResNet, say) overwrite the rule where they initialise differently.
struct init_rule {
  enum class kind { constant, uniform, normal };
  kind distribution = kind::constant;
  double a = 0;  // constant: the value; uniform: low; normal: mean
  double b = 0;  // uniform: high; normal: standard deviation

  static init_rule constant(double value) { return {kind::constant, value, 0}; }
  static init_rule uniform(double low, double high) { return {kind::uniform, low, high}; }
  static init_rule normal(double mean, double stddev) { return {kind::normal, mean, stddev}; }
};

// A learnable tensor with its gradient. Copying a parameter copies its values (a copied layer is an
// independent layer, which repeat<N, Block> relies on); gradients start at zero and accumulate until
// zero_grad. A frozen parameter is never updated, and its layer skips computing its gradient.
template <class Backend>
struct parameter {
  tensor<Backend> value;
  tensor<Backend> grad;
  nn::dims dims;
  init_rule init;
  bool frozen = false;

  parameter() = default;
  // A constant rule (BatchNorm's weight = 1, biases = 0) is applied at once; random rules wait for
  // nn::initialize(net, seed), which draws every parameter of a network from one seed.
  parameter(nn::dims d, init_rule rule)
      : value(tensor<Backend>::full(d.storage(), rule.distribution == init_rule::kind::constant
                                                     ? static_cast<typename Backend::value_type>(rule.a)
                                                     : typename Backend::value_type{0})),
        grad(d.storage()), dims(std::move(d)), init(rule) {}

  parameter(const parameter& other)
      : value(other.value.clone()), grad(other.grad.clone()), dims(other.dims), init(other.init),
        frozen(other.frozen) {}
  parameter& operator=(const parameter& other) {
    if (this != &other) *this = parameter(other);
    return *this;
  }
  parameter(parameter&&) noexcept = default;
  parameter& operator=(parameter&&) noexcept = default;

  // The gradient to accumulate into, or null when frozen: kernels skip null gradients.
  tensor<Backend>* grad_or_null() { return frozen ? nullptr : &grad; }
};

// State that is saved and loaded with the weights but not learned: BatchNorm's running statistics.
// `integral` marks counters (num_batches_tracked), saved as int64 like PyTorch's. `zero_when_absent` marks
// state that a weight file may lack because no computation reads it: loading such a file sets it to 0 and
// reports it (load_report::zeroed), as PyTorch's BatchNorm does with the counters many exporters drop.
template <class Backend>
struct buffer {
  tensor<Backend> value;
  nn::dims dims;
  bool integral = false;
  bool zero_when_absent = false;

  buffer() = default;
  buffer(nn::dims d, double fill, bool is_integral = false)
      : value(tensor<Backend>::full(d.storage(), static_cast<typename Backend::value_type>(fill))),
        dims(std::move(d)), integral(is_integral) {}
  buffer(const buffer& other)
      : value(other.value.clone()), dims(other.dims), integral(other.integral),
        zero_when_absent(other.zero_when_absent) {}
  buffer& operator=(const buffer& other) {
    if (this != &other) *this = buffer(other);
    return *this;
  }
  buffer(buffer&&) noexcept = default;
  buffer& operator=(buffer&&) noexcept = default;
};

}  // namespace nn
FERGEN_END_NAMESPACE
