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

}  // namespace qkv
