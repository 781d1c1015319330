// Cross-entropy of an output layer, fused: logits = hidden @ weight^T (+ bias) are formed once in
// the compute dtype (bf16 under autocast) and kept for the backward pass, the log-sum-exp of each
// row is taken in float32, and the gradient (softmax - target) is formed in one pass, without the
// float32 copy of the logits and the separate log-softmax and NLL passes of the unfused loss.
// Label smoothing as Szegedy et al. 2016: the target is (1 - e) on the right token plus e / V
// everywhere.
//
// Letters: N rows, C model dim, V vocabulary.
#pragma once

#include <torch/torch.h>

namespace qkv {

// Mean over the rows whose target is not ignore_index; hidden (N, C), weight (V, C), bias (V) or
// undefined, targets (N) int64. Returns a float32 scalar; 0 when every target is ignored. With a
// divisor > 0, the sum over those rows divided by it instead.
torch::Tensor linear_cross_entropy(const torch::Tensor& hidden, const torch::Tensor& weight, const torch::Tensor& bias,
                                   const torch::Tensor& targets, int64_t ignore_index, double label_smoothing = 0.0,
                                   double divisor = 0.0);

// The same loss summed instead of averaged (for evaluation), without autograd.
double linear_cross_entropy_sum(const torch::Tensor& hidden, const torch::Tensor& weight, const torch::Tensor& bias,
                                const torch::Tensor& targets, int64_t ignore_index);

}  // namespace qkv
