// The LSTM baseline model: embeddings and output layer around the recurrent encoder-decoder.
#include "transformer/models/rnn_model.h"

#include <cmath>

namespace qkv {

RnnModelImpl::RnnModelImpl(const ModelConfig& config, int64_t vocab_size, uint64_t seed, int64_t source_vocab_size)
    : ModelImpl(config, vocab_size, seed, source_vocab_size) {
  RnnOptions rnn;
  rnn.d_model = config.d_model;
  rnn.encoder_layers = config.layers;
  rnn.decoder_layers = config.decoder_layers > 0 ? config.decoder_layers : config.layers;
  rnn.dropout = config.dropout;
  rnn_ = register_module("rnn", RnnSeq2Seq(rnn));
  register_heads();
  initialise({});
  // LSTM weights and biases: U(-1/sqrt(H), 1/sqrt(H)) as PyTorch's own LSTM, H the units per direction.
  torch::NoGradGuard no_grad;
  for (auto& p : named_parameters()) {
    if (p.key().find("_lstm.") == std::string::npos) continue;
    const bool encoder = p.key().find("encoder_lstm") != std::string::npos;
    const double bound = 1.0 / std::sqrt(double(encoder ? config.d_model / 2 : config.d_model));
    p.value().uniform_(-bound, bound, parameter_generator(p.key()));
  }
}

torch::Tensor RnnModelImpl::encode(const torch::Tensor& source, const torch::Tensor& source_keep, DecodeState* state,
                                   std::vector<torch::Tensor>* weights) {
  auto memory = rnn_->encode(embed_tokens(source, /*source=*/true), source_keep);  // (B, S, C)
  if (state) {
    state->rnn = state->rnn_start = rnn_->start(memory, source_keep);
    state->memory = memory;
    state->memory_keep = source_keep;
  }
  return memory;
}

torch::Tensor RnnModelImpl::hidden(const torch::Tensor& tokens, const torch::Tensor& keep, const torch::Tensor& segments,
                                   DecodeState* state, std::vector<torch::Tensor>* weights) {
  TORCH_CHECK(state && state->memory.defined(), "rnn decoding needs an encoded source");
  if (state->incremental) return rnn_->decode(embed_tokens(tokens, false), state->memory, state->memory_keep, state->rnn);
  RnnState fresh = state->rnn_start;  // teacher forcing: the whole prefix from the start
  return rnn_->decode(embed_tokens(tokens, false), state->memory, state->memory_keep, fresh);
}

}  // namespace qkv
