// The fault battery's way of stopping a write at a chosen moment: QKV_FAULT_KILL=STAGE@N kills
// this process with SIGKILL when fault_point(STAGE, N) is reached (checkpoint stages model,
// optimizer, trainer, rename, manifest, latest at step N; corpus stages shard at shard N closed,
// shard-data inside shard N's writing). Without the variable nothing happens.
#pragma once

#include <cstdint>

namespace qkv {

void fault_point(const char* stage, int64_t n);

}  // namespace qkv
