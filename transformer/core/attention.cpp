// Multi-head attention: projections, position rotation and biases, masking, the reference and the
// fused scaled-dot-product paths, and the KV cache.
#include "transformer/core/attention.h"
#include "transformer/core/dropout.h"
#include "transformer/core/linear.h"
#include "transformer/core/relative.h"
#include "transformer/core/row_kernels.h"

#include <ATen/Parallel.h>
#include <torch/version.h>

#include <cmath>
#include <vector>

#if TORCH_VERSION_MAJOR >= 2
#include <ATen/ops/scaled_dot_product_attention.h>
#endif

namespace qkv {

namespace {
// Finite, so a row with every key masked gives a uniform row instead of NaN.
constexpr double kMaskedScore = -1e30;
// The causal softmax on the CPU, for float32 and bf16 scores (B, H, T, T): row i keeps keys 0..i.
// One pass per row over its kept prefix only, in float32, written in the scores' dtype with zeros
// after the prefix; no mask tensor, no masked fill, no float32 copy of the scores. LibTorch's path
// (masked fill, softmax to float32, cast back, and the same three in the backward) touches every
// element of the (T, T) square six times. The backward, y (g - sum(g y)) over the prefix, reads the
// saved probabilities in the scores' dtype, as LibTorch's own bf16 softmax does.
namespace causal_softmax {

using namespace row_kernels;

QKV_CLONES void exp_clamped(const float* __restrict x, float* __restrict out, int64_t n, float shift) {
  for (int64_t i = 0; i < n; ++i) out[i] = exp_nonpositive(at_least_minus_100(x[i] - shift));
}

QKV_CLONES void scale_row(float* x, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

QKV_CLONES void backward_row(const float* __restrict y, const float* __restrict g, float* __restrict out, int64_t n,
                             float d) {
  for (int64_t i = 0; i < n; ++i) out[i] = y[i] * (g[i] - d);
}

// Row r of a contiguous (rows, n) float32 or bf16 tensor, its first `len` elements as float32: a
// pointer into the tensor, or widened into buffer.
const float* read_row(const torch::Tensor& t, int64_t r, int64_t n, int64_t len, float* buffer) {
  if (t.scalar_type() == torch::kFloat32) return t.data_ptr<float>() + r * n;
  widen_bf16(reinterpret_cast<const uint16_t*>(t.data_ptr<at::BFloat16>()) + r * n, buffer, len);
  return buffer;
}

// Writes `len` float32 values into row r of t and zeros after them.
void write_row(torch::Tensor& t, int64_t r, int64_t n, int64_t len, const float* row) {
  if (t.scalar_type() == torch::kFloat32) {
    float* out = t.data_ptr<float>() + r * n;
    if (out != row) std::copy(row, row + len, out);
    std::fill(out + len, out + n, 0.0f);
    return;
  }
  uint16_t* out = reinterpret_cast<uint16_t*>(t.data_ptr<at::BFloat16>()) + r * n;
  narrow_bf16(row, out, len);
  std::fill(out + len, out + n, uint16_t(0));  // bf16 +0
}

// Calls body(r, len, buffers...) for each row of a (rows, T) view of (..., T, T), len = the row's
// kept keys, with three float32 row buffers per thread.
template <class Body>
void for_rows(int64_t rows, int64_t t, const Body& body) {
  at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
    std::vector<float> a(static_cast<size_t>(t)), b(static_cast<size_t>(t)), c(static_cast<size_t>(t));
    for (int64_t r = begin; r < end; ++r) body(r, r % t + 1, a.data(), b.data(), c.data());
  });
}

torch::Tensor forward(const torch::Tensor& scores) {  // (rows, T) contiguous
  auto y = torch::empty_like(scores);
  const int64_t t = scores.size(1);
  const bool f32 = scores.scalar_type() == torch::kFloat32;
  for_rows(scores.size(0), t, [&](int64_t r, int64_t len, float* in, float* out, float*) {
    const float* x = read_row(scores, r, t, len, in);
    float* e = f32 ? y.data_ptr<float>() + r * t : out;
    const float m = row_max(x, len);
    exp_clamped(x, e, len, m);
    scale_row(e, len, 1.0f / row_sum(e, len));
    write_row(y, r, t, len, e);
  });
  return y;
}

torch::Tensor backward(const torch::Tensor& y, const torch::Tensor& g) {  // (rows, T) each, contiguous
  auto dx = torch::empty_like(y);
  const int64_t t = y.size(1);
  const bool f32 = y.scalar_type() == torch::kFloat32;
  for_rows(y.size(0), t, [&](int64_t r, int64_t len, float* yb, float* gb, float* ob) {
    const float* yr = read_row(y, r, t, len, yb);
    const float* gr = read_row(g, r, t, len, gb);
    float* out = f32 ? dx.data_ptr<float>() + r * t : ob;
    backward_row(yr, gr, out, len, row_dot(gr, yr, len));
    write_row(dx, r, t, len, out);
  });
  return dx;
}

struct Function : torch::autograd::Function<Function> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& scores) {
    const int64_t t = scores.size(-1);
    auto y = causal_softmax::forward(scores.contiguous().view({-1, t})).view(scores.sizes());
    ctx->save_for_backward({y});
    return y;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto y = ctx->get_saved_variables()[0];
    if (!grads[0].defined()) return {torch::Tensor()};
    const int64_t t = y.size(-1);
    const auto g = grads[0].to(y.scalar_type()).contiguous();
    return {causal_softmax::backward(y.view({-1, t}), g.view({-1, t})).view(y.sizes())};
  }
};

bool applies(const torch::Tensor& scores, const AttentionInputs& in) {
  const auto type = scores.scalar_type();
  return in.causal_only && scores.device().is_cpu() && (type == torch::kFloat32 || type == torch::kBFloat16) &&
         scores.dim() == 4 && scores.size(-1) == scores.size(-2) && scores.size(-1) > 0;
}

}  // namespace causal_softmax
}  // namespace

bool fused_attention_available() { return TORCH_VERSION_MAJOR >= 2; }

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
  if (causal_softmax::applies(scores, in)) {
    probs = causal_softmax::Function::apply(scores).to(v.dtype());
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

#if TORCH_VERSION_MAJOR >= 2
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
    if (in.signals && in.signals->cos.defined()) {
      // New keys sit at the same positions as the queries; cached keys are stored rotated.
      q = apply_rotary(q, in.signals->cos, in.signals->sin);
      k = apply_rotary(k, in.signals->cos, in.signals->sin);
    }
    if (cache) std::tie(k, v) = cache->append(k, v);
  }

  const double dropout = is_training() ? options_.dropout : 0.0;
  torch::Tensor out;  // (B, H, Tq, Dh)
#if TORCH_VERSION_MAJOR >= 2
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
