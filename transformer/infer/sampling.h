// Next-token choice from logits: greedy, or sampling with temperature, top-k and top-p
// (nucleus, Holtzman et al. 2020) filtering.
#pragma once

#include <torch/torch.h>

namespace qkv {

struct SamplingOptions {
  double temperature = 1.0;  // 0: greedy
  int64_t top_k = 0;         // 0: off
  double top_p = 1.0;        // 1: off
};

// logits (B, V) -> logits with the filtered-out entries at -inf.
torch::Tensor filter_logits(const torch::Tensor& logits, int64_t top_k, double top_p);
// logits (B, V) -> chosen ids (B) int64.
torch::Tensor choose_next(const torch::Tensor& logits, const SamplingOptions& options, torch::Generator& generator);

}  // namespace qkv
