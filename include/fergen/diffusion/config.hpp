// fergen/diffusion/config.hpp: what defines a diffusion process besides the network: the beta schedule and
// what the network predicts. Stored in checkpoints next to the network's configuration.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/key_value.hpp>
#include <fergen/diffusion/beta_schedule.hpp>
#include <fergen/diffusion/noise_schedule.hpp>
#include <fergen/diffusion/parameterization.hpp>

#include <cstdint>
#include <string>
#include <string_view>

FERGEN_BEGIN_NAMESPACE
namespace diffusion {

struct diffusion_config {
  beta_schedule schedule{};
  prediction_type prediction = prediction_type::epsilon;

  void validate() const { schedule.validate(); }
  noise_schedule make_schedule() const { return noise_schedule(schedule); }

  // Its key=value entries (core/key_value.hpp); doubles, the custom betas included, read back exactly.
  key_value_list entries() const {
    return key_value_writer{}
        .add("schedule", name_of(schedule.kind))
        .add("timesteps", schedule.timesteps)
        .add("beta_start", schedule.beta_start)
        .add("beta_end", schedule.beta_end)
        .add("cosine_offset", schedule.cosine_offset)
        .add("max_beta", schedule.max_beta)
        .add("betas", schedule.given)
        .add("prediction", name_of(prediction))
        .entries();
  }

  static diffusion_config from_entries(const key_value_map& e, std::string_view origin) {
    const key_value_reader r(e, std::string(origin), "diffusion configuration");
    diffusion_config c;
    c.schedule.kind = beta_schedule_from_name(r.text("schedule"));
    c.schedule.timesteps = r.get<std::int64_t>("timesteps");
    c.schedule.beta_start = r.get<double>("beta_start");
    c.schedule.beta_end = r.get<double>("beta_end");
    c.schedule.cosine_offset = r.get<double>("cosine_offset");
    c.schedule.max_beta = r.get<double>("max_beta");
    c.schedule.given = r.list<double>("betas");
    c.prediction = prediction_type_from_name(r.text("prediction"));
    c.validate();
    return c;
  }

  std::string describe() const { return schedule.describe() + ", predicts " + std::string(name_of(prediction)); }
};

}  // namespace diffusion
FERGEN_END_NAMESPACE
