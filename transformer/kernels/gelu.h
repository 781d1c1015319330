// GELU, x Phi(x) with the exact normal CDF, on the CPU for float32 and bf16 in one pass each way
// (its own vectorised erf, float32 inside). core/feed_forward.cpp falls back to LibTorch's gelu,
// the reference its test holds it against, wherever gelu_kernel_applies() is false.
#pragma once

#include <torch/torch.h>

namespace qkv {

bool gelu_kernel_applies(const torch::Tensor& x);  // a CPU float32 or bf16 tensor
torch::Tensor gelu_kernel(const torch::Tensor& x);

}  // namespace qkv
