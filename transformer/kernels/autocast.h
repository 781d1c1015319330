// Whether LibTorch's CPU autocast is on (qkv turns it on in bf16: train/precision.h), for the
// kernels that pick their compute dtype as autocast would.
#pragma once

#include <ATen/autocast_mode.h>

#include "transformer/util/torch_version.h"

namespace qkv {

inline bool cpu_autocast_enabled() {
#if QKV_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(at::kCPU);  // 2.4 replaced the CPU-specific calls
#else
  return at::autocast::is_cpu_enabled();
#endif
}

}  // namespace qkv
