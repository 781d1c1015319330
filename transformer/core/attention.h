// The attention core: the one place attention scores are formed. Bidirectional self-, causal
// self- and cross-attention are this module with different inputs, masks and position signals.
//
// Letters: B batch, Tq query length, Tk key length, H heads, Dh head dim = C / H, C model dim,
// K = 2*clip+1 shaw distances.
#pragma once

#include <torch/torch.h>

#include "transformer/core/kv_cache.h"
#include "transformer/core/position.h"

namespace qkv {

struct AttentionOptions {
  int64_t d_model = 0;
  int64_t heads = 0;
  double dropout = 0.0;  // on the attention probabilities
  bool bias = true;      // biases of the q, k, v and output projections
  bool cross = false;    // keys and values come from a memory instead of the input
  AttentionBackend backend = AttentionBackend::kAuto;  // core/kinds.h
};

// Everything about one call except the tensors being attended over.
struct AttentionInputs {
  torch::Tensor keep_mask;                  // bool, broadcastable to (B, H, Tq, Tk); undefined: keep all
  bool causal_only = false;                 // keep_mask is exactly the causal mask with Tq == Tk
  const PositionSignals* signals = nullptr; // position scheme's signals for this stack forward
  int64_t layer = 0;                        // index into per-layer signals (shaw)
};

// Whether this LibTorch has at::scaled_dot_product_attention (>= 2.0), which AttentionBackend's
// kFused and, on a GPU, kAuto use.
bool fused_attention_available();

class MultiHeadAttentionImpl : public torch::nn::Module {
 public:
  explicit MultiHeadAttentionImpl(const AttentionOptions& options);

  // x (B, Tq, C); memory (B, Tk, C) for cross-attention, undefined for self-attention.
  // With a cache, new keys and values are appended (self) or computed once (cross).
  // weights, when given, receives the attention probabilities (B, H, Tq, Tk).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& memory, const AttentionInputs& in,
                        KVCache* cache = nullptr, torch::Tensor* weights = nullptr);

  const AttentionOptions& options() const { return options_; }
  torch::nn::Linear out_proj() const { return out_; }

 private:
  torch::Tensor split_heads(const torch::Tensor& x) const;  // (B, T, C) -> (B, H, T, Dh)

  AttentionOptions options_;
  int64_t head_dim_;
  torch::nn::Linear qkv_{nullptr};  // self: C -> 3C
  torch::nn::Linear q_{nullptr};    // cross: C -> C
  torch::nn::Linear kv_{nullptr};   // cross: C -> 2C
  torch::nn::Linear out_{nullptr};  // C -> C
};
TORCH_MODULE(MultiHeadAttention);

// Scaled logits before masking (B, H, Tq, Tk): q.k / sqrt(Dh) plus the position terms (Shaw's
// relative keys, T5 or ALiBi biases). q (B, H, Tq, Dh) and k (B, H, Tk, Dh) already rotated.
torch::Tensor attention_scores(const torch::Tensor& q, const torch::Tensor& k, const AttentionInputs& in);

// The explicit path on already projected heads: q (B, H, Tq, Dh), k and v (B, H, Tk, Dh).
// Returns (B, H, Tq, Dh). Exposed so tests can hold the fused path and naive loops against it.
torch::Tensor attend_reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const AttentionInputs& in, double dropout, bool training,
                               torch::Tensor* weights);

}  // namespace qkv
