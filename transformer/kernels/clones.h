// Functions built for AVX-512, AVX2 and baseline x86-64 at once, the copy chosen when the program
// loads (GCC's target_clones), so elementwise loops vectorise on every CPU the binary meets.
// The AVX-512 copy targets x86-64-v4 (F, BW, DQ, VL) where GCC knows it (12 and later): without
// BW, loops over 16-bit elements (bf16) only get 256-bit vectors.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#if __GNUC__ >= 12
#define QKV_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define QKV_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#else
#define QKV_CLONES
#endif
