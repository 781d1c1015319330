// A position scheme alone, outside a model, with its parameters drawn from N(0, 1) so that every
// learned term is visibly there, and the attention logits its signals give: the units the scheme
// tests in tests/core/ check.
#pragma once

#include <string>

#include "transformer/core/attention.h"
#include "transformer/core/position.h"

namespace qkv::test {

inline PositionScheme scheme_of(const std::string& kind, bool causal) {
  PositionOptions o;
  o.config.scheme = kind;
  o.d_model = 32;
  o.heads = 4;
  o.layers = 1;
  o.max_len = 128;
  o.causal = causal;
  o.config.set("clip", 5);
  o.config.set("buckets", 16);
  o.config.set("max_distance", 40);
  o.config.set("fire_threshold", 8);  // FIRE's normalisation moves within the tests' positions
  torch::manual_seed(11);
  auto scheme = make_position_scheme(o);
  torch::NoGradGuard g;
  for (auto& p : scheme->parameters()) p.normal_(0, 1);
  return scheme;
}

// Attention logits of q and k under `signals`, q rotated by its angles and k by those of `keys`
// (their key angles where they carry them).
inline torch::Tensor logits_with(const torch::Tensor& q, const torch::Tensor& k, const PositionSignals& signals,
                                 const PositionSignals& keys) {
  auto qr = q, kr = k;
  if (signals.cos.defined()) {
    qr = apply_rotary(q, signals.cos, signals.sin);
    kr = keys.key_cos.defined() ? apply_rotary(k, keys.key_cos, keys.key_sin) : apply_rotary(k, keys.cos, keys.sin);
  }
  AttentionInputs in;
  in.signals = &signals;
  return attention_scores(qr, kr, in);
}

}  // namespace qkv::test
