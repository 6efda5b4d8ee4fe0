// fergen/data/dataset_view.hpp: some of a dataset's samples, chosen by index, read in place.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/dataset.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace data {

// A subset of a dataset that copies no sample: the dataset and a list of indices into it. The study trains and
// tests every classifier on parts of the same frames (a fold's training frames, its test frames, a synthetic
// set's 80/20 split); dataset::subset would copy each part's pixels, a view reads them where they are. Like
// std::span it owns nothing: the dataset must outlive the view and not change while the view is read. Whoever
// needs a dataset of its own (to change or keep it) calls copy().
class dataset_view {
 public:
  // Every sample, in order. Implicit: a function that reads samples takes a view, and a whole dataset is one.
  dataset_view(const dataset& source) : source_(&source), indices_(static_cast<std::size_t>(source.size())) {
    std::iota(indices_.begin(), indices_.end(), std::int64_t{0});
  }
  // The samples at `indices`, in that order (indices may repeat).
  dataset_view(const dataset& source, std::vector<std::int64_t> indices)
      : source_(&source), indices_(std::move(indices)) {
    for (const auto i : indices_)
      require(i >= 0 && i < source.size(), "dataset_view: index ", i, " is outside [0, ", source.size(), ")");
  }
  // A view of a temporary would dangle once the full expression ends.
  dataset_view(const dataset&&) = delete;
  dataset_view(const dataset&&, std::vector<std::int64_t>) = delete;

  const dataset& source() const { return *source_; }
  // Per sample of the view, its index in source().
  const std::vector<std::int64_t>& indices() const { return indices_; }

  std::int64_t size() const { return static_cast<std::int64_t>(indices_.size()); }
  bool empty() const { return indices_.empty(); }
  const sample& operator[](std::int64_t i) const { return (*source_)[indices_[static_cast<std::size_t>(i)]]; }

  const std::vector<std::string>& class_names() const { return source_->class_names(); }
  std::int64_t class_count() const { return source_->class_count(); }
  std::vector<std::int64_t> class_counts() const {
    std::vector<std::int64_t> counts(class_names().size(), 0);
    for (const auto& s : *this) ++counts[static_cast<std::size_t>(s.label)];
    return counts;
  }

  // The samples at `positions` of this view, as a view of the same dataset (positions index the view, not
  // the dataset: a split of a view is a view).
  dataset_view subset(std::span<const std::int64_t> positions) const {
    std::vector<std::int64_t> picked;
    picked.reserve(positions.size());
    for (const auto p : positions) {
      require(p >= 0 && p < size(), "dataset_view::subset: position ", p, " is outside [0, ", size(), ")");
      picked.push_back(indices_[static_cast<std::size_t>(p)]);
    }
    return dataset_view(*source_, std::move(picked));
  }

  // The samples as a dataset of their own: the one place a view copies pixels.
  dataset copy() const { return source_->subset(indices_); }

  // Samples in the view's order, as const sample&.
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = sample;
    using difference_type = std::ptrdiff_t;
    using pointer = const sample*;
    using reference = const sample&;

    iterator() = default;
    iterator(const dataset* source, std::vector<std::int64_t>::const_iterator at) : source_(source), at_(at) {}
    reference operator*() const { return (*source_)[*at_]; }
    pointer operator->() const { return &**this; }
    iterator& operator++() {
      ++at_;
      return *this;
    }
    iterator operator++(int) {
      iterator before = *this;
      ++at_;
      return before;
    }
    friend bool operator==(const iterator& a, const iterator& b) { return a.at_ == b.at_; }

   private:
    const dataset* source_ = nullptr;
    std::vector<std::int64_t>::const_iterator at_{};
  };
  iterator begin() const { return {source_, indices_.begin()}; }
  iterator end() const { return {source_, indices_.end()}; }

 private:
  const dataset* source_;
  std::vector<std::int64_t> indices_;
};

}  // namespace data
FERGEN_END_NAMESPACE
