// Shaw et al. 2018's relative terms move between a (Tq, Tk) grid of query-key pairs and the 2c+1
// clipped distances clip(j - i, -c, c). Both directions work row by row on the CPU: no (Tq, Tk)
// index tensor, no gather or scatter, and each is the other's backward.
#pragma once

#include <torch/torch.h>

namespace qkv {

// per_distance (B, H, Tq, 2c+1) to (B, H, Tq, Tk): out[..., i, j] = per_distance[..., i, clip(j + shift - i) + c],
// where shift = (position of key 0) - (position of query 0). Differentiable.
torch::Tensor spread_by_distance(const torch::Tensor& per_distance, int64_t k_len, int64_t shift, int64_t clip);

// The adjoint: per_pair (B, H, Tq, Tk) summed over the pairs of each clipped distance, (B, H, Tq, 2c+1).
// Differentiable.
torch::Tensor collect_by_distance(const torch::Tensor& per_pair, int64_t shift, int64_t clip);

}  // namespace qkv
