// Rotary position embedding's rotation on the CPU in one pass over x, each row rotated in float
// (double for double) by its position's angles; its gradient is the inverse rotation.
// core/position_rope.cpp rotates op by op, the reference its test holds this against, wherever
// rotary_kernel_applies() is false.
#pragma once

#include <torch/torch.h>

namespace qkv {

// x (..., T, Dh) on the CPU in float32, float64 or bf16; cos and sin (T, R/2) without gradient.
bool rotary_kernel_applies(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);
// The first R dims of each row of x rotated in the rotate-half layout, the rest copied.
torch::Tensor rotary_kernel(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

}  // namespace qkv
