// Fused output-layer cross-entropy with its own backward.
#include "transformer/core/cross_entropy.h"

#include "transformer/core/clones.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <cmath>
#include <cstring>
#include <vector>

namespace qkv {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

bool cpu_autocast() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::autocast::is_autocast_enabled(at::kCPU);
#else
  return at::autocast::is_cpu_enabled();
#endif
}

// Row kernels for float32 and bf16 logits on the CPU: LibTorch 1.13's float exp here is scalar
// (about 20 ms for 2048 x 4096 logits on 2 cores, as long as its log-softmax), and the unfused path
// also widens the logits to float32 and keeps them. These keep the logits in their own dtype and a
// log-sum-exp per row, and make the gradient in one pass.

// e^x for finite x <= 0 (the arguments are logit - max): x = n ln 2 + r with |r| <= ln 2 / 2, e^r by
// its degree-6 Taylor polynomial (relative error below 2e-7), 2^n by the exponent bits, 0 below
// 2^-126. Integer rounding and selects only (GCC 12 leaves a loop calling std::floor scalar), so
// loops over it vectorise.
__attribute__((always_inline)) inline float exp_nonpositive(float x) {
  const int32_t whole = int32_t(x * 1.4426950408889634f - 0.5f);  // truncation: round half down, for x <= 0
  const float n = float(whole);
  const float r = (x - n * 0.693145751953125f) - n * 1.4286068203094172e-06f;  // ln 2 in two parts
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t biased = whole + 127;
  biased = biased > 0 ? biased : 0;  // 0 bits: 0.0f
  const int32_t bits = biased << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

QKV_CLONES void widen_bf16(const uint16_t* __restrict in, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t bits = uint32_t(in[i]) << 16;
    std::memcpy(&out[i], &bits, sizeof(float));
  }
}

QKV_CLONES void narrow_bf16(const float* __restrict in, uint16_t* __restrict out, int64_t n) {  // round to nearest even
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &in[i], sizeof bits);
    out[i] = uint16_t((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
  }
}

// Max and sum with 16 running lanes, so the compiler vectorises them without reassociating freely.
QKV_CLONES float row_max(const float* x, int64_t n) {
  float lanes[16];
  for (float& l : lanes) l = -INFINITY;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; ++k) lanes[k] = std::max(lanes[k], x[i + k]);
  float m = -INFINITY;
  for (; i < n; ++i) m = std::max(m, x[i]);
  for (float l : lanes) m = std::max(m, l);
  return m;
}

QKV_CLONES float row_sum(const float* x, int64_t n) {
  float lanes[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; ++k) lanes[k] += x[i + k];
  float s = 0;
  for (; i < n; ++i) s += x[i];
  for (float l : lanes) s += l;
  return s;
}

QKV_CLONES void exp_shifted(const float* __restrict x, float* __restrict out, int64_t n, float shift) {
  for (int64_t i = 0; i < n; ++i) out[i] = exp_nonpositive(x[i] - shift);
}

// (softmax - smoothing / V) * scale of a row's logits x, into out.
QKV_CLONES void softmax_grad(const float* __restrict x, float* __restrict out, int64_t n, float lse, float offset,
                             float scale) {
  for (int64_t i = 0; i < n; ++i) out[i] = (exp_nonpositive(x[i] - lse) - offset) * scale;
}

// The row as float32: a view of float32 logits, or widened from bf16 into `buffer`.
const float* row_as_float(const torch::Tensor& logits, int64_t row, std::vector<float>& buffer) {
  const int64_t v = logits.size(1);
  if (logits.scalar_type() == torch::kFloat32) return logits.data_ptr<float>() + row * v;
  widen_bf16(reinterpret_cast<const uint16_t*>(logits.data_ptr<at::BFloat16>()) + row * v, buffer.data(), v);
  return buffer.data();
}

// Per row: the log-sum-exp and -log p(target) (label-smoothed: lse - (1-e) x_t - e mean(x)).
std::pair<torch::Tensor, torch::Tensor> rows_forward(const torch::Tensor& logits, const torch::Tensor& safe,
                                                     double smoothing) {
  const int64_t rows = logits.size(0), v = logits.size(1);
  auto lse = torch::empty({rows}, logits.options().dtype(torch::kFloat32));
  auto loss = torch::empty({rows}, logits.options().dtype(torch::kFloat32));
  const int64_t* target = safe.data_ptr<int64_t>();
  float* lse_out = lse.data_ptr<float>();
  float* loss_out = loss.data_ptr<float>();
  const float e = float(smoothing);
  at::parallel_for(0, rows, 8, [&](int64_t begin, int64_t end) {
    std::vector<float> widened(static_cast<size_t>(v)), exps(static_cast<size_t>(v));
    for (int64_t r = begin; r < end; ++r) {
      const float* x = row_as_float(logits, r, widened);
      const float m = row_max(x, v);
      exp_shifted(x, exps.data(), v, m);
      const float l = m + std::log(row_sum(exps.data(), v));
      lse_out[r] = l;
      float nll = l - x[target[r]];
      if (e > 0) nll = (1 - e) * nll + e * (l - row_sum(x, v) / float(v));
      loss_out[r] = nll;
    }
  });
  return {lse, loss};
}

// d loss / d logits in the logits' dtype: (softmax - e/V - (1-e) onehot(target)) * scale per row.
torch::Tensor rows_backward(const torch::Tensor& logits, const torch::Tensor& lse, const torch::Tensor& safe,
                            const torch::Tensor& scale, double smoothing) {
  const int64_t rows = logits.size(0), v = logits.size(1);
  auto grad = torch::empty_like(logits);
  const bool bf16 = logits.scalar_type() == torch::kBFloat16;
  const int64_t* target = safe.data_ptr<int64_t>();
  const float* lse_in = lse.data_ptr<float>();
  const float* scale_in = scale.data_ptr<float>();
  const float e = float(smoothing);
  at::parallel_for(0, rows, 8, [&](int64_t begin, int64_t end) {
    std::vector<float> widened(static_cast<size_t>(v)), row(static_cast<size_t>(v));
    for (int64_t r = begin; r < end; ++r) {
      float* out = bf16 ? row.data() : grad.data_ptr<float>() + r * v;
      softmax_grad(row_as_float(logits, r, widened), out, v, lse_in[r], e / float(v), scale_in[r]);
      out[target[r]] -= (1 - e) * scale_in[r];
      if (bf16) narrow_bf16(out, reinterpret_cast<uint16_t*>(grad.data_ptr<at::BFloat16>()) + r * v, v);
    }
  });
  return grad;
}

class LinearCrossEntropy : public torch::autograd::Function<LinearCrossEntropy> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& hidden, const torch::Tensor& weight,
                               const torch::Tensor& bias, const torch::Tensor& targets, int64_t ignore_index,
                               double smoothing) {
    // The dtype autocast would give the matmul; the backward, run outside autocast, uses it too.
    const auto dtype = cpu_autocast() ? at::kBFloat16 : weight.scalar_type();
    const auto h = hidden.to(dtype), w = weight.to(dtype);
    auto logits = torch::matmul(h, w.t());  // (N, V) in the compute dtype
    const bool has_bias = bias.numel() > 0;  // no bias: an empty tensor (autograd inputs must be defined)
    if (has_bias) logits = logits + bias.to(dtype);
    const auto valid = targets.ne(ignore_index);  // (N)
    const auto safe = targets.masked_fill(valid.logical_not(), 0).contiguous();
    const auto wide_type = logits.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
    const auto count = valid.sum().clamp_min(1).to(wide_type);
    const bool by_rows = logits.device().is_cpu() && logits.dim() == 2 &&
                         (logits.scalar_type() == torch::kFloat32 || logits.scalar_type() == torch::kBFloat16);
    torch::Tensor row;  // -log p(target) per row
    if (by_rows) {
      logits = logits.contiguous();
      torch::Tensor lse;
      std::tie(lse, row) = rows_forward(logits, safe, smoothing);
      ctx->save_for_backward({h, w, logits, safe, valid, count, lse});
    } else {
      // Log-probabilities in float32 (float64 for float64 inputs); the backward's softmax is their exp.
      const auto logp = torch::log_softmax(logits.to(wide_type), -1);  // (N, V)
      row = -logp.gather(1, safe.unsqueeze(1)).squeeze(1);
      if (smoothing > 0) row = (1.0 - smoothing) * row - smoothing * logp.mean(-1);
      ctx->save_for_backward({h, w, logp, safe, valid, count});
    }
    ctx->saved_data["by_rows"] = by_rows;
    ctx->saved_data["smoothing"] = smoothing;
    ctx->saved_data["bias"] = has_bias;
    ctx->saved_data["hidden_dtype"] = int64_t(hidden.scalar_type());
    ctx->saved_data["weight_dtype"] = int64_t(weight.scalar_type());
    return (row * valid.to(wide_type)).sum() / count;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto &h = saved[0], &w = saved[1], &safe = saved[3], &valid = saved[4], &count = saved[5];
    const double smoothing = ctx->saved_data["smoothing"].toDouble();
    // d loss / d logits = (softmax - target distribution) * valid * grad / count.
    const auto scale = ((grad_outputs[0].to(count.scalar_type()) / count) * valid.to(count.scalar_type())).contiguous();  // (N)
    torch::Tensor g;  // in h's dtype
    if (ctx->saved_data["by_rows"].toBool()) {
      g = rows_backward(saved[2], saved[6], safe, scale, smoothing).to(h.scalar_type());
    } else {
      const auto& logp = saved[2];
      auto grad = logp.exp();  // softmax (N, V)
      if (smoothing > 0) grad.sub_(smoothing / double(logp.size(1)));
      grad.scatter_add_(1, safe.unsqueeze(1), torch::full({safe.size(0), 1}, -(1.0 - smoothing), grad.options()));
      grad.mul_(scale.unsqueeze(1));
      g = grad.to(h.scalar_type());
    }
    const auto hidden_dtype = c10::ScalarType(ctx->saved_data["hidden_dtype"].toInt());
    const auto weight_dtype = c10::ScalarType(ctx->saved_data["weight_dtype"].toInt());
    auto grad_hidden = torch::matmul(g, w).to(hidden_dtype);      // (N, C)
    auto grad_weight = torch::matmul(g.t(), h).to(weight_dtype);  // (V, C)
    torch::Tensor grad_bias;
    if (ctx->saved_data["bias"].toBool()) grad_bias = g.to(count.scalar_type()).sum(0).to(weight_dtype);
    return {grad_hidden, grad_weight, grad_bias, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor linear_cross_entropy(const torch::Tensor& hidden, const torch::Tensor& weight, const torch::Tensor& bias,
                                   const torch::Tensor& targets, int64_t ignore_index, double label_smoothing) {
  return LinearCrossEntropy::apply(hidden, weight, bias.defined() ? bias : torch::empty({0}, weight.options()), targets,
                                   ignore_index, label_smoothing);
}

double linear_cross_entropy_sum(const torch::Tensor& hidden, const torch::Tensor& weight, const torch::Tensor& bias,
                                const torch::Tensor& targets, int64_t ignore_index) {
  torch::NoGradGuard no_grad;
  const auto valid = targets.ne(ignore_index);
  if (!valid.any().item<bool>()) return 0.0;
  const auto mean = linear_cross_entropy(hidden, weight, bias, targets, ignore_index, 0.0);
  return mean.item<double>() * valid.sum().item<double>();
}

}  // namespace qkv
