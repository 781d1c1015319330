// Encoder and decoder stacks: N blocks over one position scheme whose signals are computed once
// per forward and handed to every block. An encoder stack is bidirectional; a decoder stack is
// causal and, in an encoder-decoder model, cross-attends to the encoder's output.
#pragma once

#include <torch/torch.h>

#include "transformer/core/position.h"
#include "transformer/models/block.h"

namespace qkv {

struct StackOptions {
  BlockOptions block;
  int64_t layers = 0;
  PositionOptions position;
  double embedding_dropout = 0.0;
  bool embed_norm = false;  // a norm after the position embedding, before the embedding dropout (BERT)
  bool causal = false;
};

// Incremental-decoding state of one decoder stack.
struct StackCache {
  std::vector<BlockCache> blocks;
  torch::Tensor key_keep;  // (B, Tk) padding of every cached position; undefined: none
  int64_t length = 0;      // positions already cached
  void select(const torch::Tensor& index);  // reorder the batch (beam search)
};

class StackImpl : public torch::nn::Module {
 public:
  explicit StackImpl(const StackOptions& options);

  // x (B, T, C) token embeddings; keep (B, T) bool, true on real tokens (undefined: all real);
  // memory (B, S, C) and memory_keep (B, S) for cross-attention. Returns (B, T, C), normalised
  // when the blocks are pre-norm. With a cache, x holds only the new positions.
  // weights, when given, receives each block's self-attention probabilities.
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& keep, const torch::Tensor& memory = {},
                        const torch::Tensor& memory_keep = {}, StackCache* cache = nullptr,
                        std::vector<torch::Tensor>* weights = nullptr);

  // The blocks' input: x (B, T, C) token embeddings with the positions offset.. (or `positions`,
  // when defined) added, the embedding norm and, in training, the embedding dropout.
  torch::Tensor embed(torch::Tensor x, int64_t offset, const torch::Tensor& positions = {});

  const StackOptions& options() const { return options_; }
  PositionScheme position() const { return position_; }
  // The most positions the stack can place: its scheme's, and model.position.randomize's range.
  int64_t max_positions() const;
  // Also restarts the positions evaluation draws under model.position.randomize, so that every
  // evaluation of a model reads the same ones.
  void train(bool on = true) override;
  const std::vector<Block>& blocks() const { return blocks_; }

 private:
  StackOptions options_;
  PositionScheme position_{nullptr};
  std::vector<Block> blocks_;
  Norm final_norm_{nullptr};  // pre-norm stacks only
  Norm embed_norm_{nullptr};  // options.embed_norm
  at::Generator eval_positions_;  // randomized positions at evaluation (reset by train(false))
};
TORCH_MODULE(Stack);

}  // namespace qkv
