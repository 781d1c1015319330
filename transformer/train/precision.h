// Mixed precision: bf16 autocast for a scope on the compute device (CPU or CUDA), and the number
// of intra-op threads.
#pragma once

#include <cstdint>

#include "transformer/config/config.h"

namespace qkv {

// kAuto becomes kBf16 on a GPU and where the CPU has native bf16 arithmetic (avx512_bf16 or
// AMX), else kFp32.
Precision resolve_precision(Precision precision);

class AutocastScope {
 public:
  explicit AutocastScope(Precision precision);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_ = false, cuda_ = false, previous_ = false;
};

// Sets LibTorch's intra-op threads: `threads`, or all cores when 0. Returns the number set.
int64_t set_threads(int64_t threads);

}  // namespace qkv
