// What every model family offers the tasks, decoding and the commands (Model): token and source
// embeddings, the output layer and its loss, the classification heads and pooling, and encoding
// and decoding through a DecodeState. The families fill in hidden() and encode(): the Transformer
// families over the shared stacks (models/transformer_model.h) and the LSTM baseline
// (models/rnn_model.h). make_model() picks the family; the family's constructor is where the model
// section becomes options structs (transformer_model.cpp's stack_options), and no module below it
// sees the configuration.
//
// Letters: B batch, T target/token length, S source length, C model dim, V vocabulary, N classes.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <vector>

#include "transformer/config/config.h"
#include "transformer/core/position.h"
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

class ModelImpl : public torch::nn::Module {
 public:
  ~ModelImpl() override = default;

  // Hidden states of the side that predicts tokens (B, T, C): the decoder for gpt, seq2seq and
  // rnn, the encoder for bert. tokens (B, T) int64; keep (B, T) bool or undefined; segments (B, T)
  // or undefined; for the encoder-decoders a state holding the encoded source. weights, when
  // given, receives each layer's self-attention probabilities.
  virtual torch::Tensor hidden(const torch::Tensor& tokens, const torch::Tensor& keep = {},
                               const torch::Tensor& segments = {}, DecodeState* state = nullptr,
                               std::vector<torch::Tensor>* weights = nullptr) = 0;
  // Encoder output (B, S, C) of the encoder-decoders; starts a decode state when given one.
  virtual torch::Tensor encode(const torch::Tensor& source, const torch::Tensor& source_keep,
                               DecodeState* state = nullptr, std::vector<torch::Tensor>* weights = nullptr);

  // Token logits (B, T, V) from hidden states: tied or separate output layer (bert: after its MLM transform).
  torch::Tensor token_logits(const torch::Tensor& hidden);
  // Mean cross-entropy of token_logits(hidden) against targets (targets equal to ignore_index
  // count for nothing), through the fused output-layer loss (kernels/cross_entropy.h); with a
  // divisor > 0, the sum over the counted targets divided by it.
  torch::Tensor token_loss(const torch::Tensor& hidden, const torch::Tensor& targets, int64_t ignore_index,
                           double label_smoothing = 0.0, double divisor = 0.0);
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

  // Token embeddings (B, T, C) of the target side (or the source side of an encoder-decoder with
  // its own source table), times sqrt(d_model) with model.scale_embeddings.
  torch::Tensor embed_tokens(const torch::Tensor& tokens, bool source = false);

  const ModelConfig& config() const { return config_; }
  int64_t vocab_size() const { return vocab_size_; }
  // Largest position the model can represent; -1 when unbounded.
  virtual int64_t max_positions() const { return -1; }
  // The Transformer families' stacks; null for the others.
  virtual Stack decoder() const { return Stack(nullptr); }
  virtual Stack encoder() const { return Stack(nullptr); }

 protected:
  // Registers the token embedding (and a separate source embedding when source_vocab_size > 0 for
  // the encoder-decoders); the family registers its body next, then calls register_heads().
  ModelImpl(const ModelConfig& config, int64_t vocab_size, uint64_t seed, int64_t source_vocab_size);
  // The untied output layer and the classification and sentence heads the configuration asks for.
  void register_heads();
  // Draws every Linear and Embedding by the init scheme (GPT-2's scaled residual projections by
  // the depth each is listed with), each parameter from a generator seeded by (seed, its name), so
  // models that differ only in some modules start with equal values for the rest.
  void initialise(const std::map<const torch::nn::Module*, int64_t>& residual_depths);
  NormalInit normal_init() const;
  at::Generator parameter_generator(const std::string& name) const;  // the generator normal_init() draws with
  // Hidden states before the output layer's logits (bert: its MLM transform); identity here.
  virtual torch::Tensor output_transform(const torch::Tensor& hidden) { return hidden; }
  torch::Tensor output_bias_;  // bias of the output layer (bert's MLM decoder); undefined: none

  ModelConfig config_;
  int64_t vocab_size_;
  uint64_t seed_;
  torch::nn::Embedding token_embedding_{nullptr};
  torch::nn::Embedding source_embedding_{nullptr};  // a separate source vocabulary
  torch::nn::Linear lm_head_{nullptr};              // untied only
  torch::nn::Linear classifier_{nullptr};
  torch::nn::Linear pooler_{nullptr};         // model.pooler
  torch::nn::Linear sentence_head_{nullptr};  // model.sentence_head

 private:
  torch::Tensor pool_hidden(const torch::Tensor& hidden, const torch::Tensor& keep);  // pool() before the pooler
};
TORCH_MODULE(Model);

// The family's model: source_vocab_size > 0 gives an encoder-decoder's encoder its own embedding
// table (translation with separate source and target vocabularies); 0 shares the one table.
Model make_model(const ModelConfig& config, int64_t vocab_size, uint64_t seed = 0, int64_t source_vocab_size = 0);

}  // namespace qkv
