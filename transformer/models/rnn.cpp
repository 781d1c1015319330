// LSTM encoder-decoder with additive attention.
#include "transformer/models/rnn.h"
#include "transformer/kernels/dropout.h"
#include "transformer/core/linear.h"

namespace qkv {

void RnnState::select(const torch::Tensor& index) {
  if (h.defined()) h = h.index_select(1, index), c = c.index_select(1, index);
  if (keys.defined()) keys = keys.index_select(0, index);
}

RnnSeq2SeqImpl::RnnSeq2SeqImpl(const RnnOptions& o) : options_(o) {
  const int64_t c = o.d_model;
  const double inner_dropout = o.dropout;
  encoder_ = register_module("encoder_lstm", torch::nn::LSTM(torch::nn::LSTMOptions(c, c / 2)
                                                                 .num_layers(o.encoder_layers)
                                                                 .bidirectional(true)
                                                                 .batch_first(true)
                                                                 .dropout(o.encoder_layers > 1 ? inner_dropout : 0.0)));
  decoder_ = register_module("decoder_lstm", torch::nn::LSTM(torch::nn::LSTMOptions(2 * c, c)
                                                                 .num_layers(o.decoder_layers)
                                                                 .batch_first(true)
                                                                 .dropout(o.decoder_layers > 1 ? inner_dropout : 0.0)));
  init_h_ = register_module("init_h", torch::nn::Linear(c, o.decoder_layers * c));
  init_c_ = register_module("init_c", torch::nn::Linear(c, o.decoder_layers * c));
  query_ = register_module("attn_query", torch::nn::Linear(torch::nn::LinearOptions(c, c).bias(false)));
  key_ = register_module("attn_key", torch::nn::Linear(c, c));
  energy_ = register_module("attn_energy", torch::nn::Linear(torch::nn::LinearOptions(c, 1).bias(false)));
  output_ = register_module("output", torch::nn::Linear(2 * c, c));
}

torch::Tensor RnnSeq2SeqImpl::encode(const torch::Tensor& x, const torch::Tensor& keep) {
  auto input = x.to(torch::kFloat32);  // (B, S, C); the recurrence runs in float32
  if (is_training() && options_.dropout > 0) input = qkv::dropout(input, options_.dropout, true);
  if (!keep.defined()) return std::get<0>(encoder_->forward(input));  // (B, S, C)
  // Packed so that the backward direction starts at each sentence's last real token.
  const auto lengths = keep.sum(1).to(torch::kCPU).to(torch::kLong);
  auto packed = torch::nn::utils::rnn::pack_padded_sequence(input, lengths, /*batch_first=*/true, /*enforce_sorted=*/false);
  auto out = std::get<0>(encoder_->forward_with_packed_input(packed));
  return std::get<0>(torch::nn::utils::rnn::pad_packed_sequence(out, /*batch_first=*/true, 0.0, x.size(1)));  // (B, S, C)
}

RnnState RnnSeq2SeqImpl::start(const torch::Tensor& memory, const torch::Tensor& keep) {
  const int64_t b = memory.size(0), c = options_.d_model, layers = options_.decoder_layers;
  torch::Tensor mean;  // (B, C) over real positions
  if (keep.defined()) {
    const auto k = keep.to(memory.dtype()).unsqueeze(-1);  // (B, S, 1)
    mean = (memory * k).sum(1) / k.sum(1).clamp_min(1.0);
  } else {
    mean = memory.mean(1);
  }
  RnnState state;
  auto initial = [&](const torch::nn::Linear& layer) {  // (L, B, C) float32
    return torch::tanh(apply_linear(layer, mean)).view({b, layers, c}).transpose(0, 1).contiguous().to(torch::kFloat32);
  };
  state.h = initial(init_h_);
  state.c = initial(init_c_);
  state.keys = apply_linear(key_, memory);  // (B, S, C)
  return state;
}

torch::Tensor RnnSeq2SeqImpl::decode(const torch::Tensor& y, const torch::Tensor& memory, const torch::Tensor& keep,
                                     RnnState& state) {
  auto input = y.to(torch::kFloat32);
  if (is_training() && options_.dropout > 0) input = qkv::dropout(input, options_.dropout, true);
  std::vector<torch::Tensor> outputs;
  for (int64_t t = 0; t < y.size(1); ++t) {
    // Additive attention from the previous top-layer state.
    auto query = apply_linear(query_, state.h[-1]).unsqueeze(1);                       // (B, 1, C)
    auto scores = apply_linear(energy_, torch::tanh(query + state.keys)).squeeze(-1);  // (B, S)
    if (keep.defined()) scores = scores.masked_fill(keep.logical_not(), -1e30);
    auto weights = torch::softmax(scores.to(torch::kFloat32), -1);                  // (B, S)
    auto context = torch::bmm(weights.unsqueeze(1), memory.to(torch::kFloat32)).squeeze(1);  // (B, C)
    auto step = torch::cat({input.select(1, t), context}, -1).unsqueeze(1);        // (B, 1, 2C)
    auto [out, hc] = decoder_->forward(step, std::make_tuple(state.h, state.c));
    state.h = std::get<0>(hc).to(torch::kFloat32);
    state.c = std::get<1>(hc).to(torch::kFloat32);
    auto s = out.squeeze(1).to(torch::kFloat32);                                    // (B, C)
    auto o = torch::tanh(apply_linear(output_, torch::cat({s, context}, -1)));      // (B, C)
    if (is_training() && options_.dropout > 0) o = qkv::dropout(o, options_.dropout, true);
    outputs.push_back(o);
  }
  state.length += y.size(1);
  return torch::stack(outputs, 1);  // (B, T, C)
}

}  // namespace qkv
