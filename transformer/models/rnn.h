// The recurrent baseline for translation (model.family: rnn): a bidirectional LSTM encoder and an
// LSTM decoder with additive attention (Bahdanau et al. 2015): at step i the previous decoder state
// s_{i-1} scores every source position, e_ij = v . tanh(W s_{i-1} + U h_j), the softmax of the
// scores weighs the encoder states into a context c_i, the LSTM reads [y_{i-1}; c_i] to give s_i,
// and the output tanh(W_o [s_i; c_i]) goes to the tied output layer as the Transformer's hidden
// states do. It serves the same task, data and commands as seq2seq, so the Transformer's gain is
// measured, not quoted.
//
// Letters: B batch, S source length, T target length, C model dim, L layers.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace qkv {

struct RnnOptions {
  int64_t d_model = 0;  // even: each encoder direction has d_model / 2 units
  int64_t encoder_layers = 1, decoder_layers = 1;
  double dropout = 0.0;
};

// The decoder's state between steps (incremental decoding) and the encoder's projected keys.
struct RnnState {
  torch::Tensor h, c;  // (L, B, C)
  torch::Tensor keys;  // (B, S, C): U h_j, computed once per sentence
  int64_t length = 0;  // target positions consumed
  void select(const torch::Tensor& index);
};

class RnnSeq2SeqImpl : public torch::nn::Module {
 public:
  explicit RnnSeq2SeqImpl(const RnnOptions& options);
  // Source embeddings (B, S, C) with keep (B, S) or undefined -> encoder states (B, S, C).
  torch::Tensor encode(const torch::Tensor& x, const torch::Tensor& keep);
  // The decoder's state before the first target token.
  RnnState start(const torch::Tensor& memory, const torch::Tensor& keep);
  // Embeddings of the next T target tokens (B, T, C) -> outputs (B, T, C); advances the state.
  torch::Tensor decode(const torch::Tensor& y, const torch::Tensor& memory, const torch::Tensor& keep, RnnState& state);

 private:
  RnnOptions options_;
  torch::nn::LSTM encoder_{nullptr}, decoder_{nullptr};
  torch::nn::Linear init_h_{nullptr}, init_c_{nullptr};    // C -> L*C each: s_0 from the mean encoder state
  torch::nn::Linear query_{nullptr}, key_{nullptr};        // W and U of the attention
  torch::nn::Linear energy_{nullptr};                      // v
  torch::nn::Linear output_{nullptr};                      // W_o: 2C -> C
};
TORCH_MODULE(RnnSeq2Seq);

}  // namespace qkv
