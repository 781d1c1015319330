// QKV_FAULT_KILL: SIGKILL at a named point of a write.
#include "transformer/util/fault_point.h"

#include <csignal>
#include <cstdlib>
#include <string>

namespace qkv {

void fault_point(const char* stage, int64_t n) {
  const char* spec = std::getenv("QKV_FAULT_KILL");
  if (spec && std::string(stage) + "@" + std::to_string(n) == spec) ::raise(SIGKILL);
}

}  // namespace qkv
