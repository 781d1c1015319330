// Autocast scope and threads.
#include "transformer/train/precision.h"

#include <ATen/autocast_mode.h>

#include <fstream>
#include <string>
#include <thread>

#include <torch/torch.h>

namespace qkv {

Precision resolve_precision(Precision precision) {
  if (precision != Precision::kAuto) return precision;
  static const bool native_bf16 = [] {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("flags", 0) == 0) {
        return line.find(" avx512_bf16") != std::string::npos || line.find(" amx_bf16") != std::string::npos;
      }
    }
    return false;
  }();
  return native_bf16 ? Precision::kBf16 : Precision::kFp32;
}

AutocastScope::AutocastScope(Precision precision) : enabled_(resolve_precision(precision) == Precision::kBf16) {
  if (!enabled_) return;
  previous_ = at::autocast::is_cpu_enabled();
  at::autocast::set_cpu_enabled(true);
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
}

AutocastScope::~AutocastScope() {
  if (!enabled_) return;
  at::autocast::set_cpu_enabled(previous_);
  if (!previous_) at::autocast::clear_cache();
}

int64_t set_threads(int64_t threads) {
  const int64_t n = threads > 0 ? threads : std::max<int64_t>(1, std::thread::hardware_concurrency());
  torch::set_num_threads(int(n));
  return n;
}

}  // namespace qkv
