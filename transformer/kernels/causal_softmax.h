// The causal softmax on the CPU, for float32 and bf16 scores (B, H, T, T): row i keeps keys 0..i.
// One pass per row over its kept prefix only, in float32, written in the scores' dtype with zeros
// after the prefix; no mask tensor, no masked fill, no float32 copy of the scores. LibTorch's path
// (masked fill, softmax to float32, cast back, and the same three in the backward) touches every
// element of the (T, T) square six times. The backward, y (g - sum(g y)) over the prefix, reads the
// saved probabilities in the scores' dtype, as LibTorch's own bf16 softmax does.
// core/attention.cpp uses LibTorch's masked softmax, the reference its test holds this against,
// wherever causal_softmax_applies() is false.
#pragma once

#include <torch/torch.h>

namespace qkv {

// Scores (B, H, T, T) on the CPU in float32 or bf16.
bool causal_softmax_applies(const torch::Tensor& scores);
// Probabilities in the scores' dtype, zero above the diagonal.
torch::Tensor causal_softmax(const torch::Tensor& scores);

}  // namespace qkv
