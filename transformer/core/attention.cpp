// Multi-head attention: projections, position rotation and biases, masking, the reference and the
// fused scaled-dot-product paths, and the KV cache.
#include "transformer/core/attention.h"
#include "transformer/kernels/dropout.h"
#include "transformer/core/linear.h"
#include "transformer/kernels/causal_softmax.h"
#include "transformer/kernels/relative_distance.h"

#include "transformer/util/torch_version.h"

#include <cmath>
#include <vector>

#if QKV_TORCH_AT_LEAST(2, 0)
#include <ATen/ops/scaled_dot_product_attention.h>
#endif

namespace qkv {

namespace {
// Finite, so a row with every key masked gives a uniform row instead of NaN.
constexpr double kMaskedScore = -1e30;
}  // namespace

bool fused_attention_available() { return QKV_TORCH_AT_LEAST(2, 0); }

MultiHeadAttentionImpl::MultiHeadAttentionImpl(const AttentionOptions& options)
    : options_(options), head_dim_(options.d_model / options.heads) {
  const int64_t c = options.d_model;
  auto linear = [&](int64_t in, int64_t out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(options.bias)); };
  if (options.cross) {
    q_ = register_module("q", linear(c, c));
    kv_ = register_module("kv", linear(c, 2 * c));
  } else {
    qkv_ = register_module("qkv", linear(c, 3 * c));
  }
  out_ = register_module("out", linear(c, c));
}

torch::Tensor MultiHeadAttentionImpl::split_heads(const torch::Tensor& x) const {
  return x.view({x.size(0), x.size(1), options_.heads, head_dim_}).transpose(1, 2);  // (B, H, T, Dh)
}

torch::Tensor attention_scores(const torch::Tensor& q, const torch::Tensor& k, const AttentionInputs& in) {
  const double scale = 1.0 / std::sqrt(double(q.size(-1)));
  const PositionSignals* sig = in.signals;
  const auto qs = q * scale;                               // scaling q costs Dh per query, scaling scores Tk
  auto scores = torch::matmul(qs, k.transpose(-2, -1));  // (B, H, Tq, Tk)
  if (sig && sig->rel_index.defined()) {
    // Shaw eq. 4: q_i . a^K_{clip(j-i)}, formed as q @ table^T (B, H, Tq, K) then placed by
    // distance, so no (Tq, Tk, Dh) tensor is built.
    auto table = sig->rel_keys.at(in.layer).to(q.dtype());  // (K, Dh)
    auto q_rel = torch::matmul(qs, table.t());               // (B, H, Tq, K)
    if (sig->rel_clip >= 0 && q.device().is_cpu()) {
      scores.add_(spread_by_distance(q_rel, k.size(2), sig->rel_shift, sig->rel_clip));
    } else {  // elsewhere: gathered by index
      scores.add_(q_rel.gather(-1, sig->rel_index.expand({q.size(0), q.size(1), q.size(2), k.size(2)})));
    }
  }
  // In place: the scores are the matmul's own output, which its backward does not need.
  if (sig && sig->score_bias.defined()) scores.add_(sig->score_bias);  // (1|B, H, Tq, Tk)
  return scores;
}

torch::Tensor attend_reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const AttentionInputs& in, double dropout, bool training,
                               torch::Tensor* weights) {
  const PositionSignals* sig = in.signals;
  const bool shaw = sig && sig->rel_index.defined();
  auto scores = attention_scores(q, k, in);  // (B, H, Tq, Tk)
  torch::Tensor probs;  // (B, H, Tq, Tk)
  if (in.causal_only && causal_softmax_applies(scores)) {
    probs = causal_softmax(scores).to(v.dtype());
  } else {
    if (in.keep_mask.defined()) scores.masked_fill_(in.keep_mask.logical_not(), kMaskedScore);
    // In float32 then cast: LibTorch 1.13's bf16 softmax backward is 5x slower than its float32 one.
    probs = torch::softmax(scores, -1, torch::kFloat32).to(v.dtype());
  }
  if (weights) *weights = probs.detach();
  if (dropout > 0.0 && training) probs = qkv::dropout(probs, dropout, training);
  auto out = torch::matmul(probs, v);  // (B, H, Tq, Dh)
  if (shaw) {
    // Shaw eq. 3: sum_j p_ij a^V_{clip(j-i)} = (probabilities summed per distance) @ table.
    torch::Tensor per_distance;  // (B, H, Tq, K)
    if (sig->rel_clip >= 0 && probs.device().is_cpu()) {
      per_distance = collect_by_distance(probs, sig->rel_shift, sig->rel_clip);
    } else {
      per_distance = torch::zeros({probs.size(0), probs.size(1), probs.size(2), sig->rel_values.at(in.layer).size(0)},
                                  probs.options())
                         .scatter_add_(-1, sig->rel_index.expand_as(probs), probs);
    }
    out.add_(torch::matmul(per_distance, sig->rel_values.at(in.layer).to(probs.dtype())));  // probs @ v keeps no output
  }
  return out;
}

#if QKV_TORCH_AT_LEAST(2, 0)
namespace {
torch::Tensor attend_fused(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                           const AttentionInputs& in, double dropout) {
  const PositionSignals* sig = in.signals;
  const bool bias = sig && sig->score_bias.defined();
  if (!bias && (!in.keep_mask.defined() || in.causal_only)) {
    return at::scaled_dot_product_attention(q, k, v, {}, dropout, in.causal_only);
  }
  torch::Tensor mask;  // float mask added to the scaled logits
  if (bias) mask = sig->score_bias.to(q.dtype());
  if (in.keep_mask.defined()) {
    auto blocked = torch::zeros(in.keep_mask.sizes(), q.options()).masked_fill(in.keep_mask.logical_not(), kMaskedScore);
    mask = mask.defined() ? mask + blocked : blocked;
  }
  return at::scaled_dot_product_attention(q, k, v, mask, dropout, false);
}
}  // namespace
#endif

torch::Tensor MultiHeadAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& memory,
                                              const AttentionInputs& in, KVCache* cache,
                                              torch::Tensor* weights) {
  const int64_t batch = x.size(0), q_len = x.size(1), c = options_.d_model;
  torch::Tensor q, k, v;
  if (options_.cross) {
    q = split_heads(apply_linear(q_, x));  // (B, H, Tq, Dh)
    if (cache && cache->frozen) {
      k = cache->k;
      v = cache->v;
    } else {
      auto kv = apply_linear(kv_, memory).chunk(2, -1);  // 2 x (B, Tk, C)
      k = split_heads(kv[0]);
      v = split_heads(kv[1]);
      if (cache) {
        cache->k = k;
        cache->v = v;
        cache->length = k.size(2);
        cache->frozen = true;
      }
    }
  } else {
    auto qkv = apply_linear(qkv_, x).chunk(3, -1);  // 3 x (B, Tq, C)
    q = split_heads(qkv[0]);
    k = split_heads(qkv[1]);
    v = split_heads(qkv[2]);
    const PositionSignals* sig = in.signals;
    const bool rotate = sig && sig->rotates(in.layer);
    if (rotate) {
      // New keys sit at the same positions as the queries; cached keys are stored rotated,
      // except under keys_from_raw, where every key is rotated after the cache.
      q = apply_rotary(q, sig->cos, sig->sin);
      if (!sig->keys_from_raw) {
        k = sig->key_cos.defined() ? apply_rotary(k, sig->key_cos, sig->key_sin) : apply_rotary(k, sig->cos, sig->sin);
      }
    }
    if (cache) std::tie(k, v) = cache->append(k, v);
    if (rotate && sig->keys_from_raw) k = apply_rotary(k, sig->key_cos, sig->key_sin);
  }

  const double dropout = is_training() ? options_.dropout : 0.0;
  torch::Tensor out;  // (B, H, Tq, Dh)
#if QKV_TORCH_AT_LEAST(2, 0)
  const bool shaw = in.signals && in.signals->rel_index.defined();
  const bool fused = options_.backend == AttentionBackend::kFused ||
                     (options_.backend == AttentionBackend::kAuto && !q.device().is_cpu());
  if (fused && !shaw && !weights) {
    out = attend_fused(q, k, v, in, dropout);
  }
#endif
  if (!out.defined()) out = attend_reference(q, k, v, in, dropout, is_training(), weights);
  out = out.transpose(1, 2).reshape({batch, q_len, c});  // (B, Tq, C)
  return apply_linear(out_, out);
}

}  // namespace qkv
