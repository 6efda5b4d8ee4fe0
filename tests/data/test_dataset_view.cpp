// Tests of data/dataset_view.hpp: a view reads its dataset's samples in place, indexes them as asked, composes
// with its own subsets, and copies only when asked.
#include <fergen/data/dataset.hpp>
#include <fergen/data/dataset_view.hpp>

#include "support/errors.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace fergen;
using fergen::testing::contains;
using fergen::testing::error_of;

namespace {

// Ten frames of three classes; frame i is filled with the value i, so a sample's pixels say which it is.
data::dataset numbered() {
  data::dataset ds({"a", "b", "c"});
  for (std::int64_t i = 0; i < 10; ++i)
    ds.add({data::image(1, 2, 2, static_cast<float>(i)), i % 3, "s" + std::to_string(i % 2), "", i, ""});
  return ds;
}

}  // namespace

TEST_CASE("dataset_view: the samples at the indices, read where the dataset holds them") {
  const data::dataset ds = numbered();
  const data::dataset_view v(ds, {7, 2, 2, 9});
  REQUIRE(v.size() == 4);
  CHECK(&v.source() == &ds);
  CHECK(v.indices() == std::vector<std::int64_t>{7, 2, 2, 9});
  for (std::int64_t i = 0; i < v.size(); ++i) {
    CHECK(&v[i] == &ds[v.indices()[static_cast<std::size_t>(i)]]);  // the same sample object: nothing copied
    CHECK(v[i].image.pixels.data() == ds[v.indices()[static_cast<std::size_t>(i)]].image.pixels.data());
  }
  std::vector<std::int64_t> frames;
  for (const auto& s : v) frames.push_back(s.frame);
  CHECK(frames == std::vector<std::int64_t>{7, 2, 2, 9});
  CHECK(v.class_names() == ds.class_names());
  CHECK(v.class_counts() == std::vector<std::int64_t>{1, 1, 2});  // labels 1, 2, 2, 0
  CHECK(contains(error_of([&] { data::dataset_view(ds, {3, 10}); }), "dataset_view: index 10 is outside [0, 10)"));
  CHECK(contains(error_of([&] { data::dataset_view(ds, {-1}); }), "index -1 is outside"));
}

TEST_CASE("dataset_view: a whole dataset is a view of every sample in order") {
  const data::dataset ds = numbered();
  const data::dataset_view all = ds;
  CHECK(all.size() == ds.size());
  for (std::int64_t i = 0; i < ds.size(); ++i) CHECK(&all[i] == &ds[i]);
  CHECK(all.class_counts() == ds.class_counts());
  const data::dataset empty({"a"});
  CHECK(data::dataset_view(empty).empty());
}

TEST_CASE("dataset_view: a subset of a view indexes the view, and is a view of the same dataset") {
  const data::dataset ds = numbered();
  const data::dataset_view fold(ds, {1, 3, 5, 7, 9});
  const data::dataset_view part = fold.subset(std::vector<std::int64_t>{4, 0, 2});
  CHECK(&part.source() == &ds);
  CHECK(part.indices() == std::vector<std::int64_t>{9, 1, 5});
  CHECK(&part[0] == &ds[9]);
  CHECK(contains(error_of([&] { (void)fold.subset(std::vector<std::int64_t>{5}); }),
                 "dataset_view::subset: position 5 is outside [0, 5)"));
}

TEST_CASE("dataset_view: copy() is the one copy, equal to dataset::subset") {
  const data::dataset ds = numbered();
  const std::vector<std::int64_t> picked{4, 8, 0};
  const data::dataset copied = data::dataset_view(ds, picked).copy();
  const data::dataset subset = ds.subset(picked);
  REQUIRE(copied.size() == 3);
  for (std::int64_t i = 0; i < copied.size(); ++i) {
    CHECK(copied[i].image == subset[i].image);
    CHECK(copied[i].frame == subset[i].frame);
    CHECK(copied[i].image.pixels.data() != ds[picked[static_cast<std::size_t>(i)]].image.pixels.data());
  }
}
