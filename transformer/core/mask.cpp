// Keep-mask construction from padding and causality.
#include "transformer/core/mask.h"

namespace qkv {

torch::Tensor causal_keep(int64_t q_len, int64_t k_len, int64_t q_offset, torch::Device device) {
  auto i = torch::arange(q_offset, q_offset + q_len, torch::dtype(torch::kLong).device(device));
  auto j = torch::arange(0, k_len, torch::dtype(torch::kLong).device(device));
  return j.unsqueeze(0) <= i.unsqueeze(1);  // (Tq, Tk)
}

torch::Tensor build_keep_mask(const torch::Tensor& key_keep, bool causal, int64_t q_len, int64_t k_len,
                              int64_t q_offset, torch::Device device) {
  torch::Tensor keep;
  if (key_keep.defined()) keep = key_keep.to(torch::kBool).view({key_keep.size(0), 1, 1, k_len});  // (B, 1, 1, Tk)
  // One query at the end of the keys (incremental decoding) may see every key: no causal mask.
  if (causal && !(q_len == 1 && q_offset == k_len - 1)) {
    auto c = causal_keep(q_len, k_len, q_offset, device).view({1, 1, q_len, k_len});  // (1, 1, Tq, Tk)
    keep = keep.defined() ? (keep & c) : c;
  }
  return keep;
}

}  // namespace qkv
