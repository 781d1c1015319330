// Position schemes: the three places position information enters the attention core
// (added to embeddings, rotating q and k, biasing the scores), one scheme per position_*.cpp.
//
// Letters: B batch, T length, Tq query length, Tk key length, H heads, Dh head dim, C model dim,
// R rotated dims (rope), K = 2*clip+1 relative distances (shaw).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "transformer/config/kinds.h"

namespace qkv {


// Options of every scheme; each scheme reads only its own. The stack fills the shape fields.
struct PositionOptions {
  PositionKind kind = PositionKind::kNone;
  int64_t max_len = 512;          // learned: number of positions in the table
  int64_t clip = 16;              // shaw: relative distances clipped to [-clip, clip]
  int64_t buckets = 32;           // t5: number of buckets
  int64_t max_distance = 128;     // t5: distance at which the last bucket starts
  double base = 10000.0;          // rope: frequency base
  double fraction = 1.0;          // rope: fraction of the head dim that is rotated
  // Shape, set by the stack that owns the scheme.
  int64_t d_model = 0;
  int64_t heads = 0;
  int64_t layers = 0;
  bool causal = false;  // decoder self-attention (t5 causal buckets, one-sided alibi)
};

// What a scheme hands to every layer's attention for one stack forward. Undefined tensors mean
// "no change". Computed once per forward, shared by the layers.
struct PositionSignals {
  torch::Tensor cos, sin;                           // rope: (Tq, R/2) for the query positions
  torch::Tensor score_bias;                         // t5, alibi: (1, H, Tq, Tk), float32
  torch::Tensor rel_index;                          // shaw: (Tq, Tk) int64, clip(j - i) + clip
  std::vector<torch::Tensor> rel_keys, rel_values;  // shaw: per layer, (K, Dh)
  int64_t rel_clip = -1, rel_shift = 0;  // shaw: c, and key 0's position minus query 0's (row kernels)
};

class PositionSchemeImpl : public torch::nn::Module {
 public:
  explicit PositionSchemeImpl(PositionOptions options) : options_(std::move(options)) {}
  ~PositionSchemeImpl() override = default;

  // Absolute schemes add to the token embeddings x (B, T, C) at positions offset..offset+T-1.
  virtual torch::Tensor embed(torch::Tensor x, int64_t offset) { return x; }
  // Queries sit at positions q_offset..q_offset+q_len-1, keys at k_offset..k_offset+k_len-1.
  virtual PositionSignals signals(int64_t q_len, int64_t q_offset, int64_t k_len, int64_t k_offset,
                                  torch::Device device) {
    return {};
  }
  // Largest number of positions the scheme can represent; -1 when unbounded.
  virtual int64_t max_positions() const { return -1; }

  const PositionOptions& options() const { return options_; }
  PositionKind kind() const { return options_.kind; }

 protected:
  PositionOptions options_;
};
TORCH_MODULE(PositionScheme);

PositionScheme make_position_scheme(const PositionOptions& options);

template <class Scheme>
PositionScheme wrap_scheme(const PositionOptions& options) {
  return PositionScheme(std::shared_ptr<PositionSchemeImpl>(std::make_shared<Scheme>(options)));
}


// Pieces exposed for tests and diagnostics.
torch::Tensor sinusoidal_table(int64_t offset, int64_t len, int64_t dim);  // (len, dim), Vaswani et al. 3.5
std::vector<double> alibi_slopes(int64_t heads);                          // Press et al. 2021, 3
// T5 bucket of each relative position (key - query), Raffel et al. 2020, 2.1.
torch::Tensor t5_bucket(const torch::Tensor& relative, bool bidirectional, int64_t buckets,
                        int64_t max_distance);
// Rotates the first 2*cos.size(-1) dims of x (..., T, Dh) by the angles in cos and sin (T, R/2).
torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

// Constructors of the concrete schemes, one per position_*.cpp.
PositionScheme make_sinusoidal_scheme(const PositionOptions& options);
PositionScheme make_learned_scheme(const PositionOptions& options);
PositionScheme make_shaw_scheme(const PositionOptions& options);
PositionScheme make_t5_scheme(const PositionOptions& options);
PositionScheme make_rope_scheme(const PositionOptions& options);
PositionScheme make_alibi_scheme(const PositionOptions& options);

}  // namespace qkv
