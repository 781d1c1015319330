// The three model families over the shared stacks: gpt (decoder stack, no cross-attention), bert
// (encoder stack) and seq2seq (both, with cross-attention), with LM, MLM and classification heads.
// make_model() is the only place where configuration becomes modules.
//
// Letters: B batch, T target/token length, S source length, C model dim, V vocabulary, N classes.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "transformer/config/config.h"
#include "transformer/models/rnn.h"
#include "transformer/models/stack.h"

namespace qkv {

// Incremental decoding state: the decoder's KV caches and, for seq2seq, the encoded source.
struct DecodeState {
  bool incremental = true;  // false: hold the encoded source only (teacher forcing)
  StackCache cache;
  torch::Tensor memory, memory_keep;  // (B, S, C), (B, S)
  RnnState rnn, rnn_start;            // family rnn: the decoder's state now and before any target token
  int64_t length() const { return cache.length > 0 ? cache.length : rnn.length; }
  void select(const torch::Tensor& index);
};

class TransformerModelImpl : public torch::nn::Module {
 public:
  // Every parameter is initialised from its own generator, seeded by (seed, its name): models that
  // differ only in some modules (position schemes, heads) start with equal values for the rest.
  // source_vocab_size > 0 gives the encoder its own embedding table (translation with separate
  // source and target vocabularies); 0 shares the one table.
  TransformerModelImpl(const ModelConfig& config, int64_t vocab_size, uint64_t seed = 0, int64_t source_vocab_size = 0);

  // Hidden states of the side that predicts tokens (B, T, C): the decoder for gpt and seq2seq,
  // the encoder for bert. tokens (B, T) int64; keep (B, T) bool or undefined; segments (B, T) or
  // undefined; for seq2seq, source (B, S) and source_keep, or a state holding the encoded source.
  torch::Tensor hidden(const torch::Tensor& tokens, const torch::Tensor& keep = {},
                       const torch::Tensor& segments = {}, DecodeState* state = nullptr,
                       std::vector<torch::Tensor>* weights = nullptr);
  // Encoder output (B, S, C) for seq2seq; starts a decode state when given one. weights, when
  // given, receives each encoder layer's self-attention probabilities.
  torch::Tensor encode(const torch::Tensor& source, const torch::Tensor& source_keep,
                       DecodeState* state = nullptr, std::vector<torch::Tensor>* weights = nullptr);

  // Token logits (B, T, V) from hidden states: tied or separate LM head, or the MLM head for bert.
  torch::Tensor token_logits(const torch::Tensor& hidden);
  // Mean cross-entropy of token_logits(hidden) against targets (targets equal to ignore_index
  // count for nothing), through the fused output-layer loss (core/cross_entropy.h).
  torch::Tensor token_loss(const torch::Tensor& hidden, const torch::Tensor& targets, int64_t ignore_index,
                           double label_smoothing = 0.0);
  // The sequence's representation for heads (B, C), by model.pool: by default the first token for
  // encoders and the last real token for decoders (GPT-1's extract token); or the mean of the
  // real tokens (keep marks them). With model.pooler, then tanh(dense(.)).
  torch::Tensor pool(const torch::Tensor& hidden, const torch::Tensor& keep);
  // Class logits (B, N) of pooled representations (B, C).
  torch::Tensor classify(const torch::Tensor& pooled);
  // masked_lm's sentence-pair logits (B, 2) from hidden states (B, T, C): the head on pool().
  torch::Tensor sentence_logits(const torch::Tensor& hidden, const torch::Tensor& keep);
  // classify(pool(hidden, keep)).
  torch::Tensor class_logits(const torch::Tensor& hidden, const torch::Tensor& keep);

  const ModelConfig& config() const { return config_; }
  int64_t vocab_size() const { return vocab_size_; }
  // Largest position the model can represent; -1 when unbounded.
  int64_t max_positions() const;
  Stack decoder() const { return decoder_; }
  Stack encoder() const { return encoder_; }

 private:
  torch::Tensor embed(const torch::Tensor& tokens, const torch::Tensor& segments, bool source = false);
  torch::Tensor pool_hidden(const torch::Tensor& hidden, const torch::Tensor& keep);  // pool() before the pooler
  void initialise();

  ModelConfig config_;
  int64_t vocab_size_;
  uint64_t seed_;
  torch::nn::Embedding token_embedding_{nullptr};
  torch::nn::Embedding source_embedding_{nullptr};  // seq2seq with a separate source vocabulary
  torch::nn::Embedding segment_embedding_{nullptr};  // bert only
  Stack encoder_{nullptr}, decoder_{nullptr};
  RnnSeq2Seq rnn_{nullptr};  // family rnn instead of the stacks
  torch::nn::Linear lm_head_{nullptr};  // untied only
  torch::Tensor lm_bias_;               // bert MLM output bias
  torch::nn::Linear mlm_transform_{nullptr};
  Norm mlm_norm_{nullptr};
  torch::nn::Linear classifier_{nullptr};
  torch::nn::Linear pooler_{nullptr};         // model.pooler
  torch::nn::Linear sentence_head_{nullptr};  // model.sentence_head
};
TORCH_MODULE(TransformerModel);

TransformerModel make_model(const ModelConfig& config, int64_t vocab_size, uint64_t seed = 0, int64_t source_vocab_size = 0);

// Parameter counts: all, and without the token and position embeddings (Kaplan et al. 2020).
struct ParameterCount {
  int64_t total = 0, non_embedding = 0;
};
ParameterCount count_parameters(TransformerModel& model);

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
