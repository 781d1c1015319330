// Fused output-layer cross-entropy with its own backward.
#include "transformer/kernels/cross_entropy.h"

#include "transformer/kernels/clones.h"
#include "transformer/kernels/autocast.h"
#include "transformer/kernels/row_kernels.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <cstring>
#include <vector>

namespace qkv {

namespace {

using namespace row_kernels;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// Row kernels for float32 and bf16 logits on the CPU: LibTorch 1.13's float exp here is scalar
// (about 20 ms for 2048 x 4096 logits on 2 cores, as long as its log-softmax), and the unfused path
// also widens the logits to float32 and keeps them. These keep the logits in their own dtype and a
// log-sum-exp per row, and make the gradient in one pass (shared pieces in core/row_kernels.h).

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
                               double smoothing, double divisor) {
    // The dtype autocast would give the matmul; the backward, run outside autocast, uses it too.
    const auto dtype = cpu_autocast_enabled() ? at::kBFloat16 : weight.scalar_type();
    const auto h = hidden.to(dtype), w = weight.to(dtype);
    auto logits = torch::matmul(h, w.t());  // (N, V) in the compute dtype
    const bool has_bias = bias.numel() > 0;  // no bias: an empty tensor (autograd inputs must be defined)
    if (has_bias) logits = logits + bias.to(dtype);
    const auto valid = targets.ne(ignore_index);  // (N)
    const auto safe = targets.masked_fill(valid.logical_not(), 0).contiguous();
    const auto wide_type = logits.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
    // The sum is divided by the rows counted here, or by the caller's divisor (a count over more
    // than this batch: all micro-batches and ranks of a training step).
    const auto count = divisor > 0 ? torch::full({}, divisor, logits.options().dtype(wide_type))
                                   : valid.sum().clamp_min(1).to(wide_type);
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
    return {grad_hidden, grad_weight, grad_bias, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor linear_cross_entropy(const torch::Tensor& hidden, const torch::Tensor& weight, const torch::Tensor& bias,
                                   const torch::Tensor& targets, int64_t ignore_index, double label_smoothing,
                                   double divisor) {
  return LinearCrossEntropy::apply(hidden, weight, bias.defined() ? bias : torch::empty({0}, weight.options()), targets,
                                   ignore_index, label_smoothing, divisor);
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
