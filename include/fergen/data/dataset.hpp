// fergen/data/dataset.hpp: labelled images with the identity of the subject, clip and frame they show.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/data/image.hpp>

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace data {

// One frame. Subject and clip are what subject-independent protocols group by: two frames of one clip are
// 5 ms apart at 200 fps and nearly identical, so a split that puts them on both sides leaks.
struct sample {
  data::image image;
  std::int64_t label = 0;  // index into the dataset's class names
  std::string subject;     // "sub01"; empty when unknown
  std::string clip;        // unique across the dataset, e.g. "sub01/EP02_01f"; empty when unknown
  std::int64_t frame = -1;  // frame number within the clip (CASME II's img46 is 46); -1 when unknown
  std::string source;      // the file it was read from; empty for generated images
};

// An in-memory labelled image collection. Class names are fixed at construction; samples are checked as
// they are added, so every label is valid and every image non-empty.
class dataset {
 public:
  dataset() = default;
  explicit dataset(std::vector<std::string> class_names) : class_names_(std::move(class_names)) {
    require(!class_names_.empty(), "dataset: no class names");
    for (std::size_t i = 0; i < class_names_.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        require(class_names_[i] != class_names_[j], "dataset: class name '", class_names_[i], "' appears twice");
  }

  const std::vector<std::string>& class_names() const { return class_names_; }
  std::int64_t class_count() const { return static_cast<std::int64_t>(class_names_.size()); }
  std::int64_t size() const { return static_cast<std::int64_t>(samples_.size()); }
  bool empty() const { return samples_.empty(); }

  const sample& operator[](std::int64_t i) const { return samples_[static_cast<std::size_t>(i)]; }
  sample& operator[](std::int64_t i) { return samples_[static_cast<std::size_t>(i)]; }
  auto begin() const { return samples_.begin(); }
  auto end() const { return samples_.end(); }

  // The label of a class name; an unknown name is an error listing the known ones.
  std::int64_t label_of(const std::string& name) const {
    for (std::size_t i = 0; i < class_names_.size(); ++i)
      if (class_names_[i] == name) return static_cast<std::int64_t>(i);
    std::string known;
    for (const auto& n : class_names_) known += (known.empty() ? "" : ", ") + n;
    fail("dataset: unknown class '", name, "' (classes: ", known, ")");
  }

  void add(sample s) {
    require(s.label >= 0 && s.label < class_count(), "dataset: label ", s.label, " of ",
            s.source.empty() ? std::string("a sample") : s.source, " is outside [0, ", class_count(), ")");
    require(!s.image.empty() && s.image.size() == static_cast<std::int64_t>(s.image.pixels.size()), "dataset: the image of ",
            s.source.empty() ? std::string("a sample") : s.source, " is empty or inconsistent (", s.image.channels, " x ",
            s.image.height, " x ", s.image.width, ", ", s.image.pixels.size(), " values)");
    samples_.push_back(std::move(s));
  }

  // Number of samples per class, in label order.
  std::vector<std::int64_t> class_counts() const {
    std::vector<std::int64_t> counts(class_names_.size(), 0);
    for (const auto& s : samples_) ++counts[static_cast<std::size_t>(s.label)];
    return counts;
  }

  // The samples at the given indices, in that order (indices may repeat).
  dataset subset(std::span<const std::int64_t> indices) const {
    dataset out(class_names_);
    out.samples_.reserve(indices.size());
    for (const auto i : indices) {
      require(i >= 0 && i < size(), "dataset::subset: index ", i, " is outside [0, ", size(), ")");
      out.samples_.push_back(samples_[static_cast<std::size_t>(i)]);
    }
    return out;
  }

  // Both datasets' samples, a's first. The class names must be the same, in the same order.
  static dataset concat(const dataset& a, const dataset& b) {
    require(a.class_names_ == b.class_names_, "dataset::concat: the datasets have different class names");
    dataset out = a;
    out.samples_.insert(out.samples_.end(), b.samples_.begin(), b.samples_.end());
    return out;
  }

  // Distinct subjects and clips, in order of first appearance.
  std::vector<std::string> subjects() const { return distinct(&sample::subject); }
  std::vector<std::string> clips() const { return distinct(&sample::clip); }

 private:
  std::vector<std::string> distinct(std::string sample::*field) const {
    std::vector<std::string> out;
    std::map<std::string, bool> seen;
    for (const auto& s : samples_)
      if (seen.emplace(s.*field, true).second) out.push_back(s.*field);
    return out;
  }

  std::vector<std::string> class_names_;
  std::vector<sample> samples_;
};

}  // namespace data
FERGEN_END_NAMESPACE
