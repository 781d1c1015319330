// Vectorisable float32 row kernels shared by the CPU cross-entropy (core/cross_entropy.cpp) and the
// causal attention softmax (core/attention.cpp): an exp for non-positive arguments, bf16 widening
// and narrowing, and a row's max, sum and dot product. LibTorch 1.13's float exp on these CPUs is
// scalar (about 5 ns an element a core), which is why these exist. Each translation unit gets its
// own copies (static): target_clones does not mix with inline linkage.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "transformer/kernels/clones.h"

namespace qkv::row_kernels {

// e^x for finite x <= 0 (the arguments are logit - max): x = n ln 2 + r with |r| <= ln 2 / 2, e^r by
// its degree-6 Taylor polynomial (relative error below 2e-7), 2^n by the exponent bits, 0 below
// 2^-126. Integer rounding and selects only (GCC 12 leaves a loop calling std::floor scalar), so
// loops over it vectorise.
[[maybe_unused]] __attribute__((always_inline)) static inline float exp_nonpositive(float x) {
  const int32_t whole = int32_t(x * 1.4426950408889634f - 0.5f);  // truncation: round half down, for x <= 0
  const float n = float(whole);
  const float r = (x - n * 0.693145751953125f) - n * 1.4286068203094172e-06f;  // ln 2 in two parts
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t biased = whole + 127;
  biased = biased > 0 ? biased : 0;  // 0 bits: 0.0f
  const int32_t bits = biased << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// max(x, -100) for x <= 0 (and -100 for NaNs with the sign bit set), on the bits: for non-positive
// floats a larger magnitude is a larger unsigned integer. Arguments of exp_nonpositive go through
// this: a float max ahead of the float-to-integer conversion keeps GCC from vectorising the loop
// (it will not if-convert a select that guards a conversion which could trap), an integer min
// does not. e^-100 is below float32's normal range, so nothing below it matters.
[[maybe_unused]] __attribute__((always_inline)) static inline float at_least_minus_100(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  bits = bits < 0xC2C80000u ? bits : 0xC2C80000u;  // -100.0f
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

// One bf16 element (its 16 bits) as float32, and a float32 rounded to bf16 as c10::BFloat16 rounds:
// nearest even, NaN as the quiet NaN 0x7fc0.
[[maybe_unused]] __attribute__((always_inline)) static inline float bf16_to_float(uint16_t h) {
  const uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
[[maybe_unused]] __attribute__((always_inline)) static inline uint16_t float_to_bf16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return v != v ? uint16_t(0x7fc0) : uint16_t((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

[[maybe_unused]] QKV_CLONES static void widen_bf16(const uint16_t* __restrict in, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t bits = uint32_t(in[i]) << 16;
    std::memcpy(&out[i], &bits, sizeof(float));
  }
}

[[maybe_unused]] QKV_CLONES static void narrow_bf16(const float* __restrict in, uint16_t* __restrict out, int64_t n) {  // round to nearest even
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &in[i], sizeof bits);
    out[i] = uint16_t((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
  }
}

// Max and sum with 16 running lanes, so the compiler vectorises them without reassociating freely.
[[maybe_unused]] QKV_CLONES static float row_max(const float* x, int64_t n) {
  float lanes[16];
  for (float& l : lanes) l = -INFINITY;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; ++k) lanes[k] = std::max(lanes[k], x[i + k]);
  float m = -INFINITY;
  for (; i < n; ++i) m = std::max(m, x[i]);
  for (float l : lanes) m = std::max(m, l);
  return m;
}

[[maybe_unused]] QKV_CLONES static float row_sum(const float* x, int64_t n) {
  float lanes[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; ++k) lanes[k] += x[i + k];
  float s = 0;
  for (; i < n; ++i) s += x[i];
  for (float l : lanes) s += l;
  return s;
}

[[maybe_unused]] QKV_CLONES static float row_dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  float lanes[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; ++k) lanes[k] += a[i + k] * b[i + k];
  float s = 0;
  for (; i < n; ++i) s += a[i] * b[i];
  for (float l : lanes) s += l;
  return s;
}

}  // namespace qkv::row_kernels
