// fergen judge's classifier service on the CPU: judge_run.cpp is the translation unit that instantiates the six
// backbones' training for it, so that editing the command's options and printing (command_judge.cpp) does not
// recompile the networks.
#pragma once

#include <fergen/experiment/judge.hpp>
#include <fergen/experiment/judge_services.hpp>

#include <functional>
#include <string>

namespace fergen::tool {

experiment::judge_services make_cpu_judge_services(const experiment::judge_classifier_options& o,
                                                   std::function<void(const std::string&)> log);

}  // namespace fergen::tool
