// The three Transformer families over the shared stacks: gpt (a decoder stack without
// cross-attention), bert (an encoder stack, segment embeddings and the MLM head) and seq2seq (both,
// the decoder cross-attending to the encoder).
//
// Letters: B batch, T token length, S source length, C model dim.
#pragma once

#include "transformer/core/norm.h"
#include "transformer/models/model.h"

namespace qkv {

class TransformerModelImpl : public ModelImpl {
 public:
  TransformerModelImpl(const ModelConfig& config, int64_t vocab_size, uint64_t seed, int64_t source_vocab_size);

  torch::Tensor hidden(const torch::Tensor& tokens, const torch::Tensor& keep, const torch::Tensor& segments,
                       DecodeState* state, std::vector<torch::Tensor>* weights) override;
  torch::Tensor encode(const torch::Tensor& source, const torch::Tensor& source_keep, DecodeState* state,
                       std::vector<torch::Tensor>* weights) override;
  int64_t max_positions() const override;
  Stack decoder() const override { return decoder_; }
  Stack encoder() const override { return encoder_; }

 protected:
  torch::Tensor output_transform(const torch::Tensor& hidden) override;  // bert: BERT's MLM transform

 private:
  torch::Tensor embed(const torch::Tensor& tokens, const torch::Tensor& segments, bool source = false);

  torch::nn::Embedding segment_embedding_{nullptr};  // bert only
  Stack encoder_{nullptr}, decoder_{nullptr};
  torch::nn::Linear mlm_transform_{nullptr};  // bert: dense, GELU and norm before the tied decoder
  Norm mlm_norm_{nullptr};
};

}  // namespace qkv
