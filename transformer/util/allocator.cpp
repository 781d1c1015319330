// Heap settings for training (see allocator.h).
#include "transformer/util/allocator.h"

#include <initializer_list>

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace qkv {

bool keep_freed_memory() {
#if defined(__GLIBC__)
  const char* mode = std::getenv("QKV_MALLOC");
  if (mode && std::strcmp(mode, "system") == 0) return false;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::strstr(tunables, "glibc.malloc.")) return false;
  for (const char* name : {"MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"}) {
    if (std::getenv(name)) return false;
  }
  // Both calls return 1 on success; glibc accepts any non-negative value for these two.
  return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, 0x7fffffff) == 1;
#else
  return false;
#endif
}

}  // namespace qkv
