// Position-wise feed-forward: Linear -> activation (ReLU, exact GELU, GPT-2's tanh-approximated
// GELU) -> Linear, or the gated SwiGLU form (Shazeer 2020): W2 (silu(W1 x) * W3 x).
#pragma once

#include <torch/torch.h>

#include "transformer/config/kinds.h"

namespace qkv {

struct FeedForwardOptions {
  int64_t d_model = 0;
  int64_t d_ff = 0;
  Activation activation = Activation::kGelu;
  bool bias = true;
};

class FeedForwardImpl : public torch::nn::Module {
 public:
  explicit FeedForwardImpl(const FeedForwardOptions& options);
  torch::Tensor forward(const torch::Tensor& x);  // (B, T, C) -> (B, T, C)
  torch::nn::Linear out_proj() const { return down_; }

 private:
  FeedForwardOptions options_;
  torch::nn::Linear up_{nullptr};    // C -> F
  torch::nn::Linear gate_{nullptr};  // C -> F, SwiGLU only
  torch::nn::Linear down_{nullptr};  // F -> C
};
TORCH_MODULE(FeedForward);

// GELU with the exact normal CDF: on the CPU for float32 and bf16 one pass each way (its own
// vectorised erf, float32 inside); elsewhere LibTorch's.
torch::Tensor gelu(const torch::Tensor& x);

}  // namespace qkv
