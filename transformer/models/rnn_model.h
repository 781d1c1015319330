// The LSTM translation baseline as a model (model.family: rnn): the shared embeddings and output
// layer around models/rnn.h's encoder-decoder, so the same task, data and commands serve it.
//
// Letters: B batch, T target length, S source length, C model dim.
#pragma once

#include "transformer/models/model.h"
#include "transformer/models/rnn.h"

namespace qkv {

class RnnModelImpl : public ModelImpl {
 public:
  RnnModelImpl(const ModelConfig& config, int64_t vocab_size, uint64_t seed, int64_t source_vocab_size);

  // Decoder outputs (B, T, C) for the next target tokens, advancing the state (incremental) or
  // from the start of the target (teacher forcing).
  torch::Tensor hidden(const torch::Tensor& tokens, const torch::Tensor& keep, const torch::Tensor& segments,
                       DecodeState* state, std::vector<torch::Tensor>* weights) override;
  torch::Tensor encode(const torch::Tensor& source, const torch::Tensor& source_keep, DecodeState* state,
                       std::vector<torch::Tensor>* weights) override;

 private:
  RnnSeq2Seq rnn_{nullptr};
};

}  // namespace qkv
