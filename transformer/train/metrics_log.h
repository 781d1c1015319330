// metrics.jsonl: one JSON object per logged step or evaluation (step, split, loss, then the
// task's metrics by name), appended and flushed line by line.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "transformer/tasks/task.h"

namespace qkv {

class MetricsLog {
 public:
  MetricsLog() = default;
  explicit MetricsLog(const std::string& path);
  void write(int64_t step, const std::string& split, const Metrics& metrics, const nlohmann::json& extra = {});
  // Drops lines logged after `step` (a resumed run repeats them).
  static void truncate_after(const std::string& path, int64_t step);

 private:
  std::ofstream out_;
  std::string path_;
};

}  // namespace qkv
