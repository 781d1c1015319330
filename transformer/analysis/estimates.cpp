// Parameter counts, FLOPs and activation bytes per token.
#include "transformer/analysis/estimates.h"

namespace qkv {

ParameterCount count_parameters(Model& model) {
  ParameterCount count;
  for (const auto& p : model->named_parameters()) {
    count.total += p.value().numel();
    const auto& key = p.key();
    const bool embedding = key.find("token_embedding") != std::string::npos || key.find("source_embedding") != std::string::npos ||
                           key.find("segment_embedding") != std::string::npos ||
                           key.find("position.table") != std::string::npos;
    if (!embedding) count.non_embedding += p.value().numel();
  }
  return count;
}

double forward_flops_per_token(const ModelConfig& c, int64_t vocab_size, int64_t context) {
  const double d = double(c.d_model), f = double(c.d_ff);
  const double ff_mats = c.activation == Activation::kSwiglu ? 3.0 : 2.0;
  const double self_block = 4.0 * d * d + ff_mats * d * f;  // q, k, v, out + feed-forward weights
  const double cross_block = self_block + 4.0 * d * d;
  const double attn_keys = c.family == Family::kBert ? double(context) : (double(context) + 1.0) / 2.0;
  const double attention = 2.0 * 2.0 * d * attn_keys;  // scores and weighted sum per layer
  double flops = 0;
  if (c.family == Family::kRnn) {
    // LSTM: 4 gates of (input + units) x units multiply-adds per layer and direction; attention
    // scores and context over the source; the output layer. Encoder and decoder tokens alike.
    const int64_t dec = c.decoder_layers > 0 ? c.decoder_layers : c.layers;
    const double encoder = double(c.layers) * 2.0 * 2.0 * 4.0 * (d + d / 2) * (d / 2);
    const double decoder = double(dec) * 2.0 * 4.0 * (2 * d + d) * d + 2.0 * 2.0 * d * double(context) + 2.0 * 2 * d * d;
    return encoder + decoder + 2.0 * d * double(vocab_size);
  }
  if (c.family == Family::kSeq2Seq) {
    const int64_t dec = c.decoder_layers > 0 ? c.decoder_layers : c.layers;
    flops = double(c.layers) * (2.0 * self_block + 2.0 * 2.0 * d * double(context)) +
            double(dec) * (2.0 * cross_block + 2.0 * attention + 2.0 * 2.0 * d * double(context));
  } else {
    flops = double(c.layers) * (2.0 * self_block + attention);
  }
  return flops + 2.0 * d * double(vocab_size);  // LM head
}

double activation_bytes_per_token(const ModelConfig& c, int64_t vocab_size, int64_t context, int64_t element_bytes) {
  if (c.family == Family::kRnn) return 0;
  const double e = double(element_bytes), d = double(c.d_model), f = double(c.d_ff), t = double(context);
  const double attention_dropout = c.attention_dropout >= 0 ? c.attention_dropout : c.dropout;
  const double probs = e * double(c.heads) * t * (attention_dropout > 0 ? 2.0 : 1.0);
  const double ff_hidden = c.activation == Activation::kSwiglu ? 4.0 * f : 2.0 * f;
  const double self_layer = 2.0 * 4.0 * d + e * 6.0 * d + probs + e * (d + ff_hidden);
  const double cross_extra = 4.0 * d + e * (2.0 * d + 2.0 * d) + probs;  // its norm, q input, q, memory k and v
  double bytes = 0;
  if (c.family == Family::kSeq2Seq) {
    const int64_t dec = c.decoder_layers > 0 ? c.decoder_layers : c.layers;
    bytes = double(c.layers) * self_layer + double(dec) * (self_layer + cross_extra);
  } else {
    bytes = double(c.layers) * self_layer;
  }
  return bytes + 4.0 * d + e * double(vocab_size);  // final norm's input, logits
}

}  // namespace qkv
