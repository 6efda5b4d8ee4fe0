// fergen judge's classifier service on the CPU (see judge_run.hpp).
#include "judge_run.hpp"

#include <utility>

namespace fergen::tool {

experiment::judge_services make_cpu_judge_services(const experiment::judge_classifier_options& o,
                                                   std::function<void(const std::string&)> log) {
  return experiment::make_judge_services<cpu<float>>(o, std::move(log));
}

}  // namespace fergen::tool
