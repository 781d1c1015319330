// Autocast scope and threads.
#include "transformer/train/precision.h"

#include <ATen/autocast_mode.h>

#include <fstream>
#include <string>
#include <thread>

#include <torch/torch.h>

#include "transformer/core/device.h"
#include "transformer/kernels/autocast.h"
#include "transformer/util/torch_version.h"

namespace qkv {

Precision resolve_precision(Precision precision) {
  if (precision != Precision::kAuto) return precision;
  if (compute_device().is_cuda()) return Precision::kBf16;  // every GPU LibTorch 2.x supports well has bf16
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

namespace {

// LibTorch 2.4 replaced the CPU-specific autocast calls by ones taking a device type.
#if QKV_TORCH_AT_LEAST(2, 4)
void enable_cpu_autocast(bool on) {
  at::autocast::set_autocast_enabled(at::kCPU, on);
  if (on) at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
}
bool cuda_autocast_enabled() { return at::autocast::is_autocast_enabled(at::kCUDA); }
void enable_cuda_autocast(bool on) {
  at::autocast::set_autocast_enabled(at::kCUDA, on);
  if (on) at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
}
#else
void enable_cpu_autocast(bool on) {
  at::autocast::set_cpu_enabled(on);
  if (on) at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
}
bool cuda_autocast_enabled() { return at::autocast::is_enabled(); }
void enable_cuda_autocast(bool on) {
  at::autocast::set_enabled(on);
  if (on) at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
}
#endif

}  // namespace

AutocastScope::AutocastScope(Precision precision)
    : enabled_(resolve_precision(precision) == Precision::kBf16), cuda_(compute_device().is_cuda()) {
  if (!enabled_) return;
  previous_ = cuda_ ? cuda_autocast_enabled() : cpu_autocast_enabled();
  if (cuda_) {
    enable_cuda_autocast(true);
  } else {
    enable_cpu_autocast(true);
  }
}

AutocastScope::~AutocastScope() {
  if (!enabled_) return;
  if (cuda_) {
    enable_cuda_autocast(previous_);
  } else {
    enable_cpu_autocast(previous_);
  }
  if (!previous_) at::autocast::clear_cache();  // the bf16 weight copies made inside the scope
}

int64_t set_threads(int64_t threads) {
  const int64_t n = threads > 0 ? threads : std::max<int64_t>(1, std::thread::hardware_concurrency());
  torch::set_num_threads(int(n));
  return n;
}

}  // namespace qkv
