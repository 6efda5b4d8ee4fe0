// fergen/diffusion/config.hpp: what defines a diffusion process besides the network: the beta schedule and
// what the network predicts. Stored in checkpoints next to the network's configuration.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/diffusion/beta_schedule.hpp>
#include <fergen/diffusion/noise_schedule.hpp>
#include <fergen/diffusion/parameterization.hpp>

#include <charconv>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

struct diffusion_config {
  beta_schedule schedule{};
  prediction_type prediction = prediction_type::epsilon;

  void validate() const { schedule.validate(); }
  noise_schedule make_schedule() const { return noise_schedule(schedule); }

  // (key, value) text pairs; doubles are written with 17 significant digits so that they read back exactly.
  std::vector<std::pair<std::string, std::string>> entries() const {
    auto exact = [](double v) {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "%.17g", v);
      return std::string(buffer);
    };
    std::string betas;
    for (std::size_t i = 0; i < schedule.given.size(); ++i) betas += (i ? "," : "") + exact(schedule.given[i]);
    return {{"schedule", std::string(name_of(schedule.kind))},
            {"timesteps", std::to_string(schedule.timesteps)},
            {"beta_start", exact(schedule.beta_start)},
            {"beta_end", exact(schedule.beta_end)},
            {"cosine_offset", exact(schedule.cosine_offset)},
            {"max_beta", exact(schedule.max_beta)},
            {"betas", betas},
            {"prediction", std::string(name_of(prediction))}};
  }

  static diffusion_config from_entries(const std::map<std::string, std::string>& e, std::string_view origin) {
    auto get = [&](const char* key) -> const std::string& {
      const auto it = e.find(key);
      if (it == e.end()) fail(origin, ": the diffusion configuration has no '", key, "'");
      return it->second;
    };
    auto number = [&](const char* key, std::string_view text) {
      double v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || end != text.data() + text.size())
        fail(origin, ": diffusion configuration '", key, "' = '", text, "' is not a number");
      return v;
    };
    diffusion_config c;
    c.schedule.kind = beta_schedule_from_name(get("schedule"));
    const std::string& t = get("timesteps");
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), c.schedule.timesteps);
    if (ec != std::errc() || end != t.data() + t.size())
      fail(origin, ": diffusion configuration 'timesteps' = '", t, "' is not an integer");
    c.schedule.beta_start = number("beta_start", get("beta_start"));
    c.schedule.beta_end = number("beta_end", get("beta_end"));
    c.schedule.cosine_offset = number("cosine_offset", get("cosine_offset"));
    c.schedule.max_beta = number("max_beta", get("max_beta"));
    const std::string& betas = get("betas");
    for (std::size_t start = 0; start < betas.size();) {
      const std::size_t comma = std::min(betas.find(',', start), betas.size());
      c.schedule.given.push_back(number("betas", std::string_view(betas).substr(start, comma - start)));
      start = comma + 1;
    }
    c.prediction = prediction_type_from_name(get("prediction"));
    c.validate();
    return c;
  }

  std::string describe() const { return schedule.describe() + ", predicts " + std::string(name_of(prediction)); }
};

}  // namespace diffusion
FERGEN_END_NAMESPACE
