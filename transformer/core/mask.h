// Keep-masks for attention: one boolean tensor broadcastable to (B, H, Tq, Tk), true where a
// query may attend to a key, built from key padding and causality.
#pragma once

#include <torch/torch.h>

namespace qkv {

// (Tq, Tk): query i (at position q_offset + i) may see key j when j <= q_offset + i.
torch::Tensor causal_keep(int64_t q_len, int64_t k_len, int64_t q_offset, torch::Device device);

// Combines key padding (B, Tk) bool, true on real tokens, possibly undefined, with causality.
// Returns an undefined tensor when nothing is masked.
torch::Tensor build_keep_mask(const torch::Tensor& key_keep, bool causal, int64_t q_len, int64_t k_len,
                              int64_t q_offset, torch::Device device);

}  // namespace qkv
