// Tests of nn/state_dict.hpp: saving and loading weights by PyTorch-style names.
#include <fergen/nn/activation.hpp>
#include <fergen/nn/batch_norm2d.hpp>
#include <fergen/nn/conv2d.hpp>
#include <fergen/nn/flatten.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/linear.hpp>
#include <fergen/nn/sequential.hpp>
#include <fergen/nn/state_dict.hpp>

#include "support/errors.hpp"
#include "support/gradient_check.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

using namespace fergen;

namespace {

template <class B>
auto make_net() {
  return nn::sequential{nn::conv2d<B>(3, 4, {.kernel = 3, .padding = 1}), nn::relu<B>{},
                        nn::conv2d<B>(4, 6, {.kernel = 3, .stride = 2, .bias = false}), nn::relu<B>{},
                        nn::flatten<B>{}, nn::linear<B>(6 * 3 * 3, 5)};
}

// A layer with an integral buffer, standing for BatchNorm's num_batches_tracked.
template <class B>
struct counting_layer {
  using backend = B;
  nn::parameter<B> scale{nn::dims{2}, nn::init_rule::constant(1)};
  nn::buffer<B> count{nn::dims{}, 0, true};
  shape output_shape(const shape& x) const { return x; }
  tensor<B> forward(context<B>&, const tensor<B>& x) { return x; }
  tensor<B> backward(context<B>&, const tensor<B>& dy) { return dy; }
  template <class V>
  void visit_parameters(V&& visit) {
    visit("scale", scale);
    visit("num_batches_tracked", count);
  }
};

std::filesystem::path scratch_file(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "fergen-test-state-dict";
  std::filesystem::create_directories(dir);
  return dir / name;
}

template <class Net>
std::vector<float> all_values(Net& net) {
  std::vector<float> v;
  net.visit_parameters([&](std::string_view, auto& item) {
    for (float x : item.value.values()) v.push_back(x);
  });
  return v;
}

}  // namespace

TEST_CASE("PyTorch's state_dict loads strictly by name and reproduces torch's output") {
  using B = cpu<float>;
  for (const std::string file : {"weights", "weights_compressed"}) {
    CAPTURE(file);
    auto net = make_net<B>();
    const auto report = nn::load_weights(net, testing::reference_dir("state_dict_reference") / (file + ".npz"));
    CHECK(report.complete());
    CHECK(report.loaded == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "5.weight", "5.bias"});
    const auto io = testing::load_reference("state_dict_reference", "io");
    auto ctx = context<B>::eval();
    const auto y = net.forward(ctx, testing::to_tensor<float>(testing::member(io, "x")));
    CHECK(testing::max_relative_difference(y, testing::member(io, "y")) <= 1e-5);
  }
}

TEST_CASE("weights saved and loaded again are the same, stored or compressed") {
  using B = cpu<float>;
  auto source = make_net<B>();
  nn::initialize(source, 1);
  for (auto compression : {npz_compression::stored, npz_compression::deflate}) {
    const auto path = scratch_file("roundtrip.npz");
    nn::save_weights(source, path, compression);
    auto copy = make_net<B>();
    nn::initialize(copy, 2);
    CHECK(all_values(copy) != all_values(source));
    CHECK(nn::load_weights(copy, path).complete());
    CHECK(all_values(copy) == all_values(source));
  }
}

TEST_CASE("counters are saved as int64, as PyTorch keeps num_batches_tracked") {
  using B = cpu<float>;
  counting_layer<B> layer;
  layer.count.value.fill(41.0f);
  const npz_archive archive = nn::state_dict(layer);
  CHECK(archive.at("num_batches_tracked").dtype == dtype::int64);
  CHECK(archive.at("num_batches_tracked").shape.empty());
  CHECK(archive.at("scale").dtype == dtype::float32);
  counting_layer<B> other;
  CHECK(nn::load_state_dict(other, archive, "memory").complete());
  CHECK(other.count.value.data()[0] == 41.0f);
}

TEST_CASE("strict loading lists every missing, unexpected and mismatched key and changes nothing") {
  using B = cpu<float>;
  auto net = make_net<B>();
  nn::initialize(net, 3);
  npz_archive archive = nn::state_dict(net);
  archive.erase("0.bias");
  archive.emplace("extra.weight", make_npy<float>(std::vector<float>(4, 1.0f), {2, 2}));
  archive["5.weight"] = make_npy<float>(std::vector<float>(10, 1.0f), {5, 2});
  archive["2.weight"] = make_npy<std::uint8_t>(std::vector<std::uint8_t>(216, 1), {6, 4, 3, 3});
  auto target = make_net<B>();
  nn::initialize(target, 4);
  const auto before = all_values(target);
  try {
    nn::load_state_dict(target, archive, "bad.npz");
    FAIL("strict loading accepted a bad archive");
  } catch (const error& e) {
    const std::string message = e.what();
    CHECK(message.find("bad.npz") != std::string::npos);
    CHECK(message.find("0.bias (4,)") != std::string::npos);
    CHECK(message.find("extra.weight (2, 2)") != std::string::npos);
    CHECK(message.find("5.weight: file has (5, 2), the network (5, 54)") != std::string::npos);
    CHECK(message.find("2.weight: dtype '|u1'") != std::string::npos);
  }
  CHECK(all_values(target) == before);

  const auto report = nn::load_state_dict(target, archive, "bad.npz", {.strict = false});
  CHECK(report.loaded == std::vector<std::string>{"0.weight", "5.bias"});
  CHECK(report.missing.size() == 1);
  CHECK(report.unexpected.size() == 1);
  CHECK(report.mismatched.size() == 2);
  CHECK(report.summary().find("2 loaded") == 0);
}

TEST_CASE("a BatchNorm counter absent from the file is set to 0 and reported; every other key stays strict") {
  using B = cpu<float>;
  auto make = [](std::optional<double> momentum) {
    return nn::sequential{nn::conv2d<B>(3, 4, {.kernel = 3, .padding = 1}),
                          nn::batch_norm2d<B>(4, {.momentum = momentum})};
  };
  auto source = make(0.1);
  nn::initialize(source, 1);
  // Running statistics and a counter as training leaves them.
  auto train = context<B>::train(1);
  const tensor<B> x = tensor<B>::full({2, 3, 5, 5}, 0.5f);
  for (int i = 0; i < 3; ++i) source.forward(train, x);
  npz_archive archive = nn::state_dict(source);
  REQUIRE(archive.contains("1.num_batches_tracked"));
  archive.erase("1.num_batches_tracked");  // as exporters that drop PyTorch's counters write it

  auto target = make(0.1);
  nn::initialize(target, 2);
  const nn::load_report report = nn::load_state_dict(target, archive, "no-counters.npz");
  CHECK(report.complete());
  CHECK(report.zeroed == std::vector<std::string>{"1.num_batches_tracked"});
  CHECK(report.loaded == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                                  "1.running_var"});
  CHECK(report.summary().find("1 not in the file, set to 0:\n  1.num_batches_tracked") != std::string::npos);
  CHECK(target.get<1>().num_batches_tracked()->value.data()[0] == 0.0f);
  // The counter changes no result in evaluation: the same output as the network it came from.
  auto eval = context<B>::eval();
  const auto y_target = target.forward(eval, x), y_source = source.forward(eval, x);
  CHECK(std::equal(y_target.values().begin(), y_target.values().end(), y_source.values().begin()));

  // A missing weight or running statistic is still an error naming it, and nothing changes.
  for (const char* key : {"1.running_mean", "0.weight"}) {
    CAPTURE(key);
    npz_archive without = archive;
    without.erase(key);
    auto other = make(0.1);
    nn::initialize(other, 3);
    const auto before = all_values(other);
    const std::string message = testing::error_of([&] { nn::load_state_dict(other, without, "bad.npz"); });
    CHECK(message.find("bad.npz: the weights do not fit the network") != std::string::npos);
    CHECK(message.find(std::string("missing from the file:\n  ") + key) != std::string::npos);
    CHECK(all_values(other) == before);
  }
  // With PyTorch's cumulative average (momentum = None) the counter divides every update: it must be there.
  auto cumulative = make(std::nullopt);
  const std::string message = testing::error_of([&] { nn::load_state_dict(cumulative, archive, "bad.npz"); });
  CHECK(message.find("missing from the file:\n  1.num_batches_tracked ()") != std::string::npos);
}

TEST_CASE("a corrupt or truncated weights file is an error naming the file") {
  using B = cpu<float>;
  auto net = make_net<B>();
  const auto path = scratch_file("truncated.npz");
  nn::save_weights(net, path);
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size / 2);
  CHECK_THROWS_WITH_AS(nn::load_weights(net, path), doctest::Contains("truncated.npz"), error);
  {
    std::ofstream garbage(path, std::ios::binary | std::ios::trunc);
    garbage << "this is not a zip archive";
  }
  CHECK_THROWS_WITH_AS(nn::load_weights(net, path), doctest::Contains("truncated.npz"), error);
  CHECK_THROWS_WITH_AS(nn::load_weights(net, scratch_file("absent.npz")), doctest::Contains("absent.npz"), error);
}
