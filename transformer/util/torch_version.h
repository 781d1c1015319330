// Compile-time checks of the LibTorch version, for the few APIs that changed between 1.13
// (Debian 12) and 2.x.
#pragma once

#include <torch/version.h>

// True when the LibTorch being compiled against is MAJOR.MINOR or newer.
#define QKV_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))
