// Estimates of what a model costs: parameters, FLOPs per token and activation memory per token,
// from its configuration (and, for parameters, the built model).
//
// Letters: C model dim, F feed-forward dim, H heads, T context length, V vocabulary.
#pragma once

#include <cstdint>

#include "transformer/config/config.h"
#include "transformer/models/model.h"

namespace qkv {

// Parameter counts: all, and without the token and position embeddings (Kaplan et al. 2020).
struct ParameterCount {
  int64_t total = 0, non_embedding = 0;
};
ParameterCount count_parameters(Model& model);

// Forward FLOPs per token at context length T: 2 per multiply-add over the non-embedding weights
// and the LM head, plus attention scores and weighted sums (2 * 2 * layers * T * C, causal
// averaged over positions for decoders). Training costs about three times this.
double forward_flops_per_token(const ModelConfig& config, int64_t vocab_size, int64_t context);

// Bytes of activations one training token keeps for the backward at context length T, counted
// from what qkv's layers save, with matmul inputs and outputs in `element_bytes` (2 under bf16
// autocast, 4 in float32) and norm inputs (the float32 residual stream) in 4. Per self-attention
// layer: both norms' inputs 2 x 4C; the qkv projection's input, q, k, v, the scaled q and the output
// projection's input 6C; the attention probabilities H x T (twice with attention dropout: before
// and after the mask; the hash dropout stores no mask); the feed-forward's input and its hidden
// before and after the activation C + 2F (SwiGLU: C + 4F). Plus the final norm's input and the
// logits (V). The counting follows Korthikanti et al. 2022 (sec. 4.1), whose total for their GPT
// layout is sbh(34 + 5aT/h) in 16-bit. Cross-attention layers add their query input, q, the
// memory's k and v and their probabilities. 0 for the rnn family (not estimated).
double activation_bytes_per_token(const ModelConfig& config, int64_t vocab_size, int64_t context,
                                  int64_t element_bytes);

}  // namespace qkv
