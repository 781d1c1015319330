// Functions built for AVX-512, AVX2 and baseline x86-64 at once, the copy chosen when the program
// loads (GCC's target_clones), so elementwise loops vectorise on every CPU the binary meets.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define QKV_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define QKV_CLONES
#endif
