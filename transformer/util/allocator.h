// How the process's heap treats the large, short-lived buffers of training steps.
#pragma once

namespace qkv {

// Keeps freed memory in the process for reuse instead of handing it back to the system.
//
// LibTorch's CPU tensors come from malloc. glibc serves blocks above its mmap threshold (128 KiB,
// rising to at most 32 MiB) with fresh mappings and unmaps them on free, so every training step
// maps, zero-fills (page faults) and unmaps its activations again: a profile of the 6-layer
// d_model 512 benchmark showed about 7% of samples in the kernel's page-fault path. With
// mmap off and trimming off, the second step reuses the first step's pages; peak memory is the
// same, and memory is returned when the process ends.
//
// Does nothing when the user has set glibc's malloc tunables (GLIBC_TUNABLES=glibc.malloc.*, or
// MALLOC_MMAP_MAX_ / MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_), or QKV_MALLOC=system, or
// on a C library other than glibc. Returns whether it changed the settings.
bool keep_freed_memory();

}  // namespace qkv
