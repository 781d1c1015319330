// Autocast scope and threads.
#include "transformer/train/precision.h"

#include <ATen/autocast_mode.h>

#include <thread>

#include <torch/torch.h>

namespace qkv {

AutocastScope::AutocastScope(Precision precision) : enabled_(precision == Precision::kBf16) {
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
