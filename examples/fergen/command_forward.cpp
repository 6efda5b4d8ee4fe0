// fergen forward: runs a backbone in evaluation mode on an N, C, H, W array and writes its logits, so users can
// check weights converted from torchvision against torchvision's own output.
#include "commands.hpp"

#include <fergen/backend/cpu/tensor.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/npy.hpp>
#include <fergen/core/tensor_npy.hpp>
#include <fergen/models/backbones.hpp>
#include <fergen/models/pretrained.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fergen::tool {

void add_forward_command(CLI::App& app, std::function<int()>& run) {
  struct arguments {
    std::string model, size = "full", weights, input, output, features, compare;
    std::int64_t classes = 1000, in_channels = 3, batch = 16;
    double tolerance = 1e-3;
    bool transform_input = false, strict_head = false;
  };
  auto a = std::make_shared<arguments>();
  CLI::App* cmd = app.add_subcommand(
      "forward", "Run a backbone in evaluation mode on an N,C,H,W float array and write its logits (.npy)");
  cmd->add_option("--model", a->model, "vgg16, resnet50 or inception_v3")
      ->required()
      ->check(CLI::IsMember({"vgg16", "resnet50", "inception_v3"}));
  cmd->add_option("--size", a->size, "full (torchvision's network) or small (fergen's narrow preset)")
      ->check(CLI::IsMember({"full", "small"}))
      ->capture_default_str();
  cmd->add_option("--classes", a->classes, "Number of classes of the head")->capture_default_str();
  cmd->add_option("--in-channels", a->in_channels,
                  "3: normalised RGB input (torchvision's); 1: gray on [0, 1], ImageNet normalisation folded in")
      ->check(CLI::IsMember({1, 3}))
      ->capture_default_str();
  cmd->add_option("--weights", a->weights, "Weights (.npz): torchvision's state_dict exported, or fergen's")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--input", a->input, "Input array (.npy, float32 or float64, N x C x H x W)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--output", a->output, "Logits (.npy, float32, N x classes)")->required();
  cmd->add_option("--features", a->features, "Also write the penultimate features (.npy, N x F)");
  cmd->add_option("--batch", a->batch, "Images per forward pass")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--compare", a->compare,
                  "Reference logits (.npy, N x classes, e.g. torchvision's): report max |diff| / max |reference| and "
                  "fail above --tolerance")
      ->check(CLI::ExistingFile);
  cmd->add_option("--tolerance", a->tolerance, "With --compare")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_flag("--transform-input", a->transform_input,
                "inception_v3: torchvision's transform_input (what its ImageNet weights expect)");
  cmd->add_flag("--strict-head", a->strict_head,
                "Fail when the file's head does not fit --classes (by default it is initialised, with a warning)");
  cmd->callback([a, &run] {
    run = [a] {
      const npy_array input = read_npy(a->input);
      const tensor<cpu<float>> x = tensor_from_npy<cpu<float>>(input, a->input);
      const models::backbone b = models::parse_backbone(a->model);
      const models::backbone_size size = models::parse_backbone_size(a->size);
      require(b == models::backbone::inception_v3 || !a->transform_input, "forward: --transform-input is an option ",
              "of inception_v3, not ", a->model);
      const models::backbone_options o{.num_classes = a->classes, .in_channels = a->in_channels,
                                       .transform_input = a->transform_input};
      return models::with_backbone<cpu<float>>(b, size, o, [&](auto& net) {
        const shape xs = x.shape();
        net.features_shape({1, xs.c, xs.h, xs.w});  // channels and size, before the (long) load of the weights
        const auto report = models::load_backbone_weights(net, a->weights);
        if (!report.initialised.empty()) {
          require(!a->strict_head, "forward: ", a->weights, " does not hold the head of a ", a->classes,
                  "-class network (--strict-head): ", report.summary());
          std::fprintf(stderr, "fergen forward: warning: not from %s, initialised at random: %s\n", a->weights.c_str(),
                       report.summary().c_str());
        }
        if (!report.weights.zeroed.empty())
          std::printf("%zu counters not in %s, set to 0 as PyTorch does (no computation of this network reads them): "
                      "%s%s\n",
                      report.weights.zeroed.size(), a->weights.c_str(), report.weights.zeroed.front().c_str(),
                      report.weights.zeroed.size() > 1 ? ", ..." : "");
        std::vector<float> logits, features;
        auto ctx = context<cpu<float>>::eval();
        for (std::int64_t begin = 0; begin < xs.n; begin += a->batch) {
          const std::int64_t n = std::min(a->batch, xs.n - begin);
          const auto part = tensor<cpu<float>>::from(
              std::span<const float>(x.data() + begin * xs.per_sample(), static_cast<std::size_t>(n * xs.per_sample())),
              {n, xs.c, xs.h, xs.w});
          const auto f = net.forward_features(ctx, part);
          const auto y = net.head().forward(ctx, f);
          logits.insert(logits.end(), y.values().begin(), y.values().end());
          if (!a->features.empty()) features.insert(features.end(), f.values().begin(), f.values().end());
        }
        write_npy(a->output, make_npy<float>(logits, {xs.n, net.num_classes()}));
        if (!a->features.empty()) write_npy(a->features, make_npy<float>(features, {xs.n, net.feature_count()}));
        std::printf("%s (%s, %lld input channel%s, %lld classes): %s, %zu arrays loaded; %s [%lld, %lld, %lld, %lld] -> "
                    "%s [%lld, %lld]\n",
                    net.name().c_str(), a->size.c_str(), static_cast<long long>(a->in_channels),
                    a->in_channels == 1 ? "" : "s", static_cast<long long>(net.num_classes()), a->weights.c_str(),
                    report.weights.loaded.size(), a->input.c_str(), static_cast<long long>(xs.n),
                    static_cast<long long>(xs.c), static_cast<long long>(xs.h), static_cast<long long>(xs.w),
                    a->output.c_str(), static_cast<long long>(xs.n), static_cast<long long>(net.num_classes()));
        if (a->compare.empty()) return 0;
        const npy_array reference = read_npy(a->compare);
        require(reference.count() == static_cast<std::int64_t>(logits.size()), "forward: ", a->compare, " holds ",
                reference.count(), " values, the logits ", logits.size(), " (", xs.n, " x ", net.num_classes(), ")");
        const std::vector<double> ref = reference.values<double>();
        double diff = 0, scale = 0;
        for (std::size_t i = 0; i < ref.size(); ++i) {
          diff = std::max(diff, std::abs(static_cast<double>(logits[i]) - ref[i]));
          scale = std::max(scale, std::abs(ref[i]));
        }
        const double relative = scale > 0 ? diff / scale : diff;
        const bool match = std::isfinite(relative) && relative <= a->tolerance;
        std::printf("%s %s: max |diff| / max |reference| = %.3g (tolerance %.3g)\n", match ? "matches" : "DIFFERS from",
                    a->compare.c_str(), relative, a->tolerance);
        return match ? 0 : 1;
      });
    };
  });
}

}  // namespace fergen::tool
