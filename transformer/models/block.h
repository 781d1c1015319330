// One Transformer block: self-attention, optional cross-attention, feed-forward, each wrapped in a
// residual connection with pre- or post-normalisation (Xiong et al. 2020 compare the two).
#pragma once

#include <torch/torch.h>

#include "transformer/core/attention.h"
#include "transformer/core/feed_forward.h"
#include "transformer/core/norm.h"

namespace qkv {

struct BlockOptions {
  int64_t d_model = 0;
  int64_t heads = 0;
  int64_t d_ff = 0;
  double residual_dropout = 0.0;
  double attention_dropout = 0.0;
  bool pre_norm = true;
  NormKind norm = NormKind::kLayerNorm;
  double norm_eps = 1e-5;
  Activation activation = Activation::kGelu;
  bool bias = true;
  bool cross = false;  // decoder block of an encoder-decoder model
  AttentionBackend attention = AttentionBackend::kAuto;
  // The options of every norm of the stack (the blocks', the final, the embedding norm).
  NormOptions norm_options() const {
    NormOptions o;
    o.dim = d_model;
    o.kind = norm;
    o.bias = bias;
    o.eps = norm_eps;
    return o;
  }
};

// What a block needs besides its input, shared by all blocks of one stack forward.
struct BlockInputs {
  AttentionInputs self;
  AttentionInputs cross;
  torch::Tensor memory;  // (B, Tk, C) encoder output, cross-attention only
};

struct BlockCache {
  KVCache self, cross;
};

class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const BlockOptions& options);
  // x (B, T, C) -> (B, T, C). weights, when given, receives the self-attention probabilities.
  torch::Tensor forward(torch::Tensor x, const BlockInputs& in, BlockCache* cache = nullptr,
                        torch::Tensor* weights = nullptr);

  // The projections whose outputs join the residual stream (scaled at initialisation).
  std::vector<torch::nn::Linear> residual_projections() const;

 private:
  torch::Tensor residual(const torch::Tensor& x, const torch::Tensor& update, Norm& norm);

  BlockOptions options_;
  MultiHeadAttention self_attn_{nullptr}, cross_attn_{nullptr};
  FeedForward ff_{nullptr};
  Norm self_norm_{nullptr}, cross_norm_{nullptr}, ff_norm_{nullptr};
};
TORCH_MODULE(Block);

}  // namespace qkv
