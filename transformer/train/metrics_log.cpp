// metrics.jsonl writer.
#include "transformer/train/metrics_log.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "transformer/train/checkpoint.h"
#include "transformer/util/atomic_file.h"

namespace qkv {

MetricsLog::MetricsLog(const std::string& path) : out_(path, std::ios::app), path_(path) {
  if (!out_) throw std::runtime_error(fmt::format("{}: cannot open for writing: {} (errno {})", path, std::strerror(errno), errno));
}

void MetricsLog::write(int64_t step, const std::string& split, const Metrics& metrics, const nlohmann::json& extra) {
  nlohmann::ordered_json line;
  line["step"] = step;
  line["split"] = split;
  for (const auto& [name, value] : metrics) line[name] = value;
  for (const auto& [key, value] : extra.items()) line[key] = value;
  out_ << line.dump() << "\n";
  out_.flush();
  if (!out_) throw std::runtime_error(fmt::format("{}: cannot write: {} (errno {})", path_, std::strerror(errno), errno));
}

void MetricsLog::truncate_after(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string kept, line;
  while (std::getline(in, line)) {
    try {
      if (nlohmann::json::parse(line).at("step").get<int64_t>() <= step) kept += line + "\n";
    } catch (const std::exception&) {
      // a line cut short by a crash: dropped
    }
  }
  in.close();
  write_file_atomic(path, kept);
}

}  // namespace qkv
