// Summaries of attention probabilities for diagnostics and sweep reports.
//
// Letters: B batch, H heads, T length.
#pragma once

#include <torch/torch.h>

namespace qkv {

// Attention mass against relative distance: for each distance d = i - j (query position minus key
// position, from -(T-1) to T-1), the probability the queries put on the key d positions back,
// averaged over the batch, the heads and all T queries (a query with no key at that distance
// contributes 0). weights (B, H, T, T) -> (2T - 1) float64, index d + T - 1; the values sum to 1.
torch::Tensor attention_mass_by_distance(const torch::Tensor& weights);

}  // namespace qkv
