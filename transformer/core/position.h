// Position schemes: the three places position information enters the attention core
// (added to embeddings, rotating q and k, biasing the scores), one scheme per position_*.cpp.
//
// Letters: B batch, T length, Tq query length, Tk key length, H heads, Dh head dim, C model dim,
// R rotated dims (rope), K = 2*clip+1 relative distances (shaw).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "transformer/config/position_scheme.h"

namespace qkv {

// A scheme's configuration and the shape of the stack that owns it (the stack fills the shape).
struct PositionOptions {
  PositionConfig config;   // the scheme's name and option values (config/position_scheme.h)
  int64_t max_len = 512;   // model.max_len: the table size of schemes bounded by it
  int64_t d_model = 0;
  int64_t heads = 0;
  int64_t layers = 0;
  bool causal = false;  // decoder self-attention (t5 causal buckets, one-sided alibi)
  double value(const char* key) const { return config.value(key); }
  int64_t integer(const char* key) const { return config.integer(key); }
};

// Draws a parameter's initial values from N(0, std^2) with a generator of its own, seeded by its
// full name (models/model.cpp), so models that share a parameter start with the same values.
using NormalInit = std::function<void(const std::string& name, torch::Tensor& parameter, double std)>;

// What a scheme hands to every layer's attention for one stack forward. Undefined tensors mean
// "no change". Computed once per forward, shared by the layers.
struct PositionSignals {
  torch::Tensor cos, sin;                           // rope: (Tq, R/2) for the query positions
  // Keys rotated by other angles than the queries: xpos (the new keys, scaled by the inverse
  // decay) and rope's dynamic scaling (every key, keys_from_raw: cached keys are kept unrotated
  // and rotated at each step by the angles of the current length). Undefined: as the queries.
  torch::Tensor key_cos, key_sin;
  bool keys_from_raw = false;
  int64_t rotate_skip_every = 0;  // rope nope_every: layers N-1, 2N-1, ... (0-based) rotate nothing
  bool rotates(int64_t layer) const {
    return cos.defined() && (rotate_skip_every <= 0 || (layer + 1) % rotate_skip_every != 0);
  }
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
  // Initial values of the scheme's own parameters outside Linear and Embedding modules (which the
  // model initialises by its init scheme); `prefix` is the scheme's name in the model ("decoder.position").
  virtual void initialise(const std::string& prefix, const NormalInit& normal) {}

  const PositionOptions& options() const { return options_; }
  const std::string& scheme() const { return options_.config.scheme; }

 protected:
  PositionOptions options_;
};
TORCH_MODULE(PositionScheme);

// The module of the registered scheme options.config.scheme names (config/position_schemes.def).
PositionScheme make_position_scheme(const PositionOptions& options);

template <class Scheme>
PositionScheme wrap_scheme(const PositionOptions& options) {
  return PositionScheme(std::shared_ptr<PositionSchemeImpl>(std::make_shared<Scheme>(options)));
}

// Key position minus query position, (Tq, Tk), for queries at q_offset.. and keys at k_offset..:
// the distance every relative bias reads.
torch::Tensor key_minus_query(int64_t q_len, int64_t q_offset, int64_t k_len, int64_t k_offset, torch::Dtype dtype,
                              torch::Device device);

// Randomized positions (Ruoss et al. 2023; core/randomized_positions.cpp), a wrapper of every
// scheme: a sequence of T tokens sits at `positions` (T, int64, strictly increasing) instead of
// 0..T-1, in training and in evaluation alike. The scheme is evaluated over 0..positions[T-1] and its table rows, angles and biases
// are gathered at the positions, so each scheme keeps its own code and parameter names.
// A sorted sample of n distinct positions from [0, range), drawn from `generator`, or else from
// LibTorch's default CPU generator (every micro-batch and rank of a training step then draws the
// same: train/step.cpp reseeds it before each share).
torch::Tensor random_positions(int64_t n, int64_t range, torch::Device device, at::Generator* generator = nullptr);
// x (B, T, C) with the scheme's embedding of each position added (x itself for schemes that do
// not embed).
torch::Tensor embed_at(PositionSchemeImpl& scheme, torch::Tensor x, const torch::Tensor& positions);
// The signals of an uncached self-attention forward whose queries and keys sit at `positions`.
PositionSignals signals_at(PositionSchemeImpl& scheme, const torch::Tensor& positions, torch::Device device);

// Pieces exposed for tests and diagnostics.
torch::Tensor sinusoidal_table(int64_t offset, int64_t len, int64_t dim);  // (len, dim), Vaswani et al. 3.5
std::vector<double> alibi_slopes(int64_t heads);                          // Press et al. 2021, 3
// T5 bucket of each relative position (key - query), Raffel et al. 2020, 2.1.
torch::Tensor t5_bucket(const torch::Tensor& relative, bool bidirectional, int64_t buckets,
                        int64_t max_distance);
// RoPE's context extensions (model.position.scaling) and the frequencies theta_i (R/2, float64) of
// each for a factor s over a model trained at original_len; yarn's alpha and beta bound its ramp.
torch::Tensor rope_frequencies(double base, int64_t half, RopeScaling scaling, double s, int64_t original_len,
                               double alpha, double beta);
// YaRN's attention temperature as the factor on q and k: sqrt(1/t) = 0.1 ln s + 1 (Peng et al. 2024).
double yarn_magnitude(double s);
// Rotates the first 2*cos.size(-1) dims of x (..., T, Dh) by the angles in cos and sin (T, R/2).
torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

}  // namespace qkv
