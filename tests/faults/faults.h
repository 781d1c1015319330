// What the fault battery's tests share: a small training run of quickstart-tiny in a scratch
// directory, its logged training losses, and running it with a signal sent after a delay.
#pragma once

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "helpers.h"

namespace qkv::test {

// The training loss logged at each step of a run (metrics.jsonl, split train), in order.
inline std::vector<double> train_losses(const std::string& run_dir) {
  std::vector<double> losses;
  std::ifstream in(run_dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j["split"] == "train" && j.contains("loss")) losses.push_back(j["loss"].get<double>());
  }
  return losses;
}

// `qkv ARGS` in the background, `signal` after `delay_s` seconds; returns "exit=N" with the rest
// of the output.
inline CommandResult run_and_signal(const std::string& env, const std::string& args, double delay_s, const std::string& signal) {
  return run_shell(fmt::format("{} '{}' {} >/dev/null 2>&1 & pid=$!; sleep {:.2f}; kill -{} $pid 2>/dev/null; wait $pid; echo exit=$?",
                               env, QKV_BINARY, args, delay_s, signal));
}

// The exit code reported by run_and_signal.
inline int exit_of(const CommandResult& r) {
  const auto at = r.output.rfind("exit=");
  return at == std::string::npos ? -1 : std::stoi(r.output.substr(at + 5));
}

}  // namespace qkv::test
