// Tests of models/unet.hpp, its blocks (models/unet_blocks.hpp), the layers and ops they add (self-attention,
// embedding, channel bias, timestep embedding): finite differences in double, PyTorch's twin of the network
// (tests/reference/unet_torch.py) in float32 and float64, names, and bad input.
#include <fergen/backend/cpu/channel_bias.hpp>
#include <fergen/backend/cpu/timestep_embedding.hpp>
#include <fergen/models/unet.hpp>
#include <fergen/models/unet_presets.hpp>
#include <fergen/nn/embedding.hpp>
#include <fergen/nn/initialize.hpp>
#include <fergen/nn/parameters.hpp>
#include <fergen/nn/state_dict.hpp>

#include "support/conditional_gradient_check.hpp"
#include "support/errors.hpp"
#include "support/gradient_check.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

using namespace fergen;
using B = cpu<double>;
using testing::contains;
using testing::error_of;

namespace {

models::unet_config tiny_config() {
  models::unet_config c;
  c.image_size = 8;
  c.base_channels = 4;
  c.channel_mult = {1, 2};
  c.res_blocks = 1;
  c.attention_resolutions = {4};
  c.middle_attention = true;
  c.heads = 2;
  c.groups = 2;
  c.dropout = 0.2;
  c.classes = 3;
  return c;
}

}  // namespace

TEST_CASE("timestep embedding: cos then sin of t times geometric frequencies") {
  auto ctx = context<B>::eval();
  const std::vector<double> t{0.0, 1.0, 999.0};
  const auto e = ops::timestep_embedding<B>::forward(ctx, t, {.dim = 6});
  CHECK(e.shape() == shape{3, 6, 1, 1});
  for (std::size_t n = 0; n < t.size(); ++n)
    for (int k = 0; k < 3; ++k) {
      const double f = std::pow(10000.0, -k / 3.0);
      CHECK(e(static_cast<std::int64_t>(n), k, 0, 0) == doctest::Approx(std::cos(t[n] * f)).epsilon(1e-12));
      CHECK(e(static_cast<std::int64_t>(n), 3 + k, 0, 0) == doctest::Approx(std::sin(t[n] * f)).epsilon(1e-12));
    }
  const auto odd = ops::timestep_embedding<B>::forward(ctx, t, {.dim = 5});
  CHECK(odd(2, 4, 0, 0) == 0.0);
  CHECK(contains(error_of([&] { ops::timestep_embedding<B>::forward(ctx, t, {.dim = 1}); }), "dimension 1"));
  const std::vector<double> bad{1.0, NAN};
  CHECK(contains(error_of([&] { ops::timestep_embedding<B>::forward(ctx, bad, {.dim = 4}); }), "position 1"));
}

TEST_CASE("channel bias adds one value per sample and channel; its gradient sums the plane") {
  auto ctx = context<B>::eval();
  const auto x = testing::random_tensor({2, 3, 4, 5}, 1);
  const auto b = testing::random_tensor({2, 3, 1, 1}, 2);
  const auto y = ops::channel_bias<B>::forward(ctx, x, b);
  CHECK(y(1, 2, 3, 4) == doctest::Approx(x(1, 2, 3, 4) + b(1, 2, 0, 0)));
  const auto db = ops::channel_bias<B>::backward_bias(ctx, x);
  double sum = 0;
  for (int h = 0; h < 4; ++h)
    for (int w = 0; w < 5; ++w) sum += x(1, 0, h, w);
  CHECK(db(1, 0, 0, 0) == doctest::Approx(sum));
  CHECK(contains(error_of([&] { ops::channel_bias<B>::forward(ctx, x, testing::random_tensor({2, 4, 1, 1}, 3)); }),
                 "does not fit input [2, 3, 4, 5]"));
}

TEST_CASE("embedding looks rows up and accumulates their gradients, repeated rows twice") {
  nn::embedding<B> table(4, 3);
  nn::initialize(table, 5);
  auto ctx = context<B>::train();
  const std::vector<std::int64_t> idx{2, 0, 2};
  const auto y = table.forward(ctx, idx);
  CHECK(y.shape() == shape{3, 3, 1, 1});
  CHECK(y(0, 1, 0, 0) == table.weight().value(2, 1, 0, 0));
  const auto dy = testing::random_tensor({3, 3, 1, 1}, 6);
  table.weight().grad.fill(0);
  table.backward(ctx, dy);
  CHECK(table.weight().grad(2, 1, 0, 0) == doctest::Approx(dy(0, 1, 0, 0) + dy(2, 1, 0, 0)));
  CHECK(table.weight().grad(1, 0, 0, 0) == 0.0);
  const std::vector<std::int64_t> bad{1, 4};
  CHECK(contains(error_of([&] { table.forward(ctx, bad); }), "index 4 at position 1 is outside the table's rows [0, 4)"));
}

TEST_CASE("self-attention equals the textbook softmax(q k^T / sqrt(d)) v and passes finite differences") {
  nn::self_attention<B> attn(4, {.heads = 2, .groups = 2});
  testing::randomize_parameters(attn, 3);
  SUBCASE("the op against a direct computation") {
    auto ctx = context<B>::eval();
    const std::int64_t t = 6, d = 2, c = 4;
    const auto qkv = testing::random_tensor({2, 3 * c, 2, 3}, 9);
    const auto y = ops::attention<B>::forward(ctx, qkv, 2, false).y;
    REQUIRE(y.shape() == shape{2, c, 2, 3});
    const double* q = qkv.data();
    for (std::int64_t n = 0; n < 2; ++n)
      for (std::int64_t head = 0; head < 2; ++head)
        for (std::int64_t i = 0; i < t; ++i) {
          std::vector<double> w(static_cast<std::size_t>(t));
          double top = -1e300, sum = 0;
          for (std::int64_t j = 0; j < t; ++j) {
            double s = 0;
            for (std::int64_t ch = 0; ch < d; ++ch)
              s += q[(n * 3 * c + head * d + ch) * t + i] * q[(n * 3 * c + c + head * d + ch) * t + j];
            w[static_cast<std::size_t>(j)] = s / std::sqrt(static_cast<double>(d));
            top = std::max(top, w[static_cast<std::size_t>(j)]);
          }
          for (auto& v : w) sum += v = std::exp(v - top);
          for (std::int64_t ch = 0; ch < d; ++ch) {
            double a = 0;
            for (std::int64_t j = 0; j < t; ++j)
              a += w[static_cast<std::size_t>(j)] / sum * q[(n * 3 * c + 2 * c + head * d + ch) * t + j];
            CHECK(y.data()[(n * c + head * d + ch) * t + i] == doctest::Approx(a).epsilon(1e-12));
          }
        }
  }
  SUBCASE("finite differences, one and two heads") {
    testing::check_gradients(attn, {2, 4, 2, 3});
    nn::self_attention<B> one(6, {.heads = 1, .groups = 3});
    testing::randomize_parameters(one, 4);
    testing::check_gradients(one, {1, 6, 3, 3});
  }
  CHECK(nn::parameter_names(attn) == std::vector<std::string>{"norm.weight", "norm.bias", "qkv.weight", "qkv.bias",
                                                              "proj_out.weight", "proj_out.bias"});
  CHECK(contains(error_of([] { nn::self_attention<B>(6, {.heads = 4, .groups = 3}); }), "do not divide into 4 heads"));
}

TEST_CASE("residual block: finite differences for the input, the embedding and every parameter") {
  SUBCASE("channels change: 1x1 skip convolution, dropout in training") {
    models::res_block<B> block(4, 6, 5, {.groups = 2, .dropout = 0.3});
    testing::randomize_parameters(block, 11);
    testing::check_embedding_block_gradients(block, {2, 4, 3, 3}, 5);
    CHECK(nn::parameter_names(block) ==
          std::vector<std::string>{"in_layers.0.weight", "in_layers.0.bias", "in_layers.2.weight", "in_layers.2.bias",
                                   "emb_layers.1.weight", "emb_layers.1.bias", "out_layers.0.weight", "out_layers.0.bias",
                                   "out_layers.3.weight", "out_layers.3.bias", "skip_connection.weight",
                                   "skip_connection.bias"});
  }
  SUBCASE("same channels: identity skip, evaluation mode") {
    models::res_block<B> block(4, 4, 3, {.groups = 4});
    testing::randomize_parameters(block, 12);
    testing::check_embedding_block_gradients(block, {3, 4, 2, 2}, 3, {.training = false});
  }
  models::res_block<B> block(4, 4, 3, {.groups = 2});
  auto ctx = context<B>::train();
  CHECK(contains(error_of([&] {
                   block.forward(ctx, testing::random_tensor({2, 4, 2, 2}, 1), testing::random_tensor({2, 5, 1, 1}, 2));
                 }),
                 "embedding [2, 5, 1, 1] does not fit input [2, 4, 2, 2]"));
}

TEST_CASE("down- and upsampling blocks pass finite differences") {
  models::downsample<B> down(3);
  testing::randomize_parameters(down, 1);
  testing::check_gradients(down, {2, 3, 5, 4});
  CHECK(down.output_shape({2, 3, 5, 4}) == shape{2, 3, 3, 2});
  models::upsample<B> up(2);
  testing::randomize_parameters(up, 2);
  testing::check_gradients(up, {2, 2, 3, 2});
  CHECK(up.output_shape({2, 2, 3, 2}) == shape{2, 2, 6, 4});
  CHECK(nn::parameter_names(down) == std::vector<std::string>{"op.weight", "op.bias"});
  CHECK(nn::parameter_names(up) == std::vector<std::string>{"conv.weight", "conv.bias"});
}

TEST_CASE("embed_sequential passes the embedding to residual blocks only and sums their embedding gradients") {
  models::embed_sequential<B> seq(models::res_block<B>(2, 4, 3, {.groups = 2}), nn::self_attention<B>(4, {.groups = 2}),
                                  models::res_block<B>(4, 4, 3, {.groups = 2}), models::downsample<B>(4));
  testing::randomize_parameters(seq, 21);
  testing::check_embedding_block_gradients(seq, {2, 2, 4, 4}, 3);
  const auto names = nn::parameter_names(seq);
  CHECK(names.front() == "0.in_layers.0.weight");
  CHECK(names.back() == "3.op.bias");
}

TEST_CASE("the UNet passes finite differences: input, every parameter incl. time and label embeddings") {
  models::unet<B> net(tiny_config());
  testing::randomize_parameters(net, 31, 0.4);
  const std::vector<double> t{5, 731};
  const std::vector<std::int64_t> y{2, 3};  // 3 is the null label
  testing::check_denoiser_gradients(net, {2, 1, 8, 8}, t, y, {.max_checks = 24});
  SUBCASE("unconditional, three levels, non-square, evaluation mode") {
    models::unet_config c = tiny_config();
    c.classes = 0;
    c.channel_mult = {1, 1, 2};
    c.attention_resolutions = {2};
    c.middle_attention = false;
    c.heads = 1;
    models::unet<B> u(c);
    testing::randomize_parameters(u, 32, 0.4);
    const std::vector<double> t1{17};
    testing::check_denoiser_gradients(u, {1, 1, 8, 12}, t1, {}, {.training = false, .max_checks = 16});
  }
}

TEST_CASE("UNet parameter names are guided-diffusion's and the count follows the configuration") {
  models::unet<B> net(tiny_config());
  const auto names = nn::parameter_names(net);
  for (const char* expected : {"time_embed.0.weight", "time_embed.2.bias", "label_emb.weight", "input_blocks.0.0.weight",
                               "input_blocks.1.0.in_layers.0.weight", "input_blocks.3.1.qkv.weight",
                               "input_blocks.2.0.op.weight", "middle_block.1.proj_out.bias",
                               "output_blocks.0.0.skip_connection.weight", "output_blocks.1.2.conv.weight",
                               "out.0.weight", "out.2.bias"})
    CHECK_MESSAGE(std::find(names.begin(), names.end(), expected) != names.end(), std::string(expected));
  CHECK(nn::find_parameter(net, "label_emb.weight").dims == nn::dims{4, 16});
  // DDPM's zero starts: the network output and each block's last convolution.
  CHECK(nn::find_parameter(net, "out.2.weight").init.distribution == nn::init_rule::kind::constant);
  CHECK(nn::find_parameter(net, "middle_block.0.out_layers.3.weight").init.a == 0.0);
  models::unet<B> big(models::unet_presets::benchmark());
  CHECK(nn::parameter_count(big) == 14140545);  // PyTorch's count of unet_torch.UNet with the same options
}

TEST_CASE("UNet equals its PyTorch twin in float64 and float32 (forward, input and parameter gradients)") {
  for (const std::string& name : testing::reference_cases("unet_reference")) {
    CAPTURE(name);
    const npz_archive io = testing::load_reference("unet_reference", name + "_io");
    const npz_archive weights = testing::load_reference("unet_reference", name + "_weights");
    std::vector<std::string> grads;
    {
      std::ifstream in(testing::reference_dir("unet_reference") / (name + "_grads.txt"));
      for (std::string line; std::getline(in, line);)
        if (!line.empty()) grads.push_back(line);
    }
    REQUIRE(!grads.empty());
    models::unet_config c;
    const auto x_shape = testing::member(io, "x").shape;
    const bool conditional = io.contains("y");
    if (name == "unet_small") {
      c = models::unet_config{.image_channels = 1, .image_size = 8, .base_channels = 8, .channel_mult = {1, 2},
                              .res_blocks = 1, .attention_resolutions = {4}, .middle_attention = true, .heads = 2,
                              .groups = 4, .classes = 3, .null_class = true};
    } else {
      c = models::unet_config{.image_channels = 2, .image_size = 8, .base_channels = 4, .channel_mult = {1, 2, 2},
                              .res_blocks = 2, .attention_resolutions = {}, .groups = 2};
    }
    const std::vector<double> t = testing::values_of<double>(io, "t");
    const std::vector<std::int64_t> y = conditional ? testing::values_of<std::int64_t>(io, "y") : std::vector<std::int64_t>{};
    auto run = [&]<class T>(const std::string& tag, double tolerance) {
      using BT = cpu<T>;
      models::unet<BT> net(c);
      nn::load_state_dict(net, weights, name + "_weights.npz");
      auto ctx = context<BT>::train();
      ctx.training = false;  // PyTorch ran in eval mode (dropout off; GroupNorm has no mode)
      const auto out = net.forward(ctx, testing::to_tensor<T>(testing::member(io, "x")), t, y);
      nn::zero_grad(net);
      const auto dx = net.backward(ctx, testing::to_tensor<T>(testing::member(io, "dy")));
      CHECK(testing::max_relative_difference(out, testing::member(io, "out" + tag)) <= tolerance);
      CHECK(testing::max_relative_difference(dx, testing::member(io, "dx" + tag)) <= tolerance);
      for (const auto& g : grads) {
        CAPTURE(g);
        CHECK(testing::max_relative_difference(nn::find_parameter(net, g).grad, testing::member(io, "grad." + g + tag)) <=
              tolerance);
      }
    };
    (void)x_shape;
    run.template operator()<double>("64", 1e-10);
    run.template operator()<float>("32", 2e-5);
  }
}

TEST_CASE("UNet bad input and bad configurations give messages that name the problem") {
  models::unet<B> net(tiny_config());
  auto ctx = context<B>::eval();
  const std::vector<double> t2{1, 2};
  const std::vector<std::int64_t> y2{0, 1};
  CHECK(contains(error_of([&] { net.forward(ctx, testing::random_tensor({2, 2, 8, 8}, 1), t2, y2); }),
                 "has 2 channels, the network takes 1"));
  CHECK(contains(error_of([&] { net.forward(ctx, testing::random_tensor({2, 1, 6, 5}, 1), t2, y2); }),
                 "not a multiple of 2"));
  const std::vector<double> t1{1};
  CHECK(contains(error_of([&] { net.forward(ctx, testing::random_tensor({2, 1, 8, 8}, 1), t1, y2); }),
                 "1 timesteps for a batch of 2"));
  const std::vector<std::int64_t> y_bad{0, 4};
  CHECK(contains(error_of([&] { net.forward(ctx, testing::random_tensor({2, 1, 8, 8}, 1), t2, y_bad); }),
                 "label 4 of sample 1 is outside [0, 3) and is not the null label 3"));
  models::unet_config no_null = tiny_config();
  no_null.null_class = false;
  models::unet<B> strict(no_null);
  const std::vector<std::int64_t> y_null{0, 3};
  CHECK(contains(error_of([&] { strict.forward(ctx, testing::random_tensor({2, 1, 8, 8}, 1), t2, y_null); }),
                 "the network has no null class"));
  CHECK(net.null_label() == 3);
  CHECK(strict.null_label() == -1);

  auto config_error = [](auto change) {
    models::unet_config c = tiny_config();
    change(c);
    return error_of([&] { models::unet<B>{c}; });
  };
  CHECK(contains(config_error([](auto& c) { c.groups = 3; }), "do not divide into 3 normalisation groups"));
  CHECK(contains(config_error([](auto& c) { c.image_size = 9; }), "image size 9 is not a positive multiple of 2^(levels - 1) = 2"));
  CHECK(contains(config_error([](auto& c) { c.attention_resolutions = {3}; }), "attention resolution 3 is not the size of any level (8, 4)"));
  CHECK(contains(config_error([](auto& c) { c.channel_mult = {}; }), "channel_mult has 0 levels"));
  CHECK(contains(config_error([](auto& c) { c.dropout = 1.0; }), "dropout = 1 is outside [0, 1)"));
}

TEST_CASE("UNet configuration round-trips through its text entries; bad entries are named") {
  const models::unet_config c = models::unet_presets::study(7);
  std::map<std::string, std::string> e;
  for (const auto& [k, v] : c.entries()) e[k] = v;
  CHECK(models::unet_config::from_entries(e, "test") == c);
  auto broken = e;
  broken["channel_mult"] = "1,x";
  CHECK(contains(error_of([&] { models::unet_config::from_entries(broken, "ckpt"); }),
                 "ckpt: UNet configuration 'channel_mult' = 'x' is not an integer"));
  broken = e;
  broken.erase("groups");
  CHECK(contains(error_of([&] { models::unet_config::from_entries(broken, "ckpt"); }), "has no 'groups'"));
  broken = e;
  broken["colour"] = "red";
  CHECK(contains(error_of([&] { models::unet_config::from_entries(broken, "ckpt"); }), "unknown UNet configuration key 'colour'"));
}
