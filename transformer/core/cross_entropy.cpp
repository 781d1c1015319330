// Fused output-layer cross-entropy with its own backward.
#include "transformer/core/cross_entropy.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

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
    const auto safe = targets.masked_fill(valid.logical_not(), 0);
    // Log-probabilities in float32 (float64 for float64 inputs): LibTorch's log-softmax is one
    // parallel, vectorised pass; the backward's softmax is their exp.
    const auto wide_type = logits.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
    const auto logp = torch::log_softmax(logits.to(wide_type), -1);  // (N, V)
    auto row = -logp.gather(1, safe.unsqueeze(1)).squeeze(1);        // -log p(target)
    if (smoothing > 0) row = (1.0 - smoothing) * row - smoothing * logp.mean(-1);
    const auto count = valid.sum().clamp_min(1).to(wide_type);
    ctx->save_for_backward({h, w, logp, safe, valid, count});
    ctx->saved_data["smoothing"] = smoothing;
    ctx->saved_data["bias"] = has_bias;
    ctx->saved_data["hidden_dtype"] = int64_t(hidden.scalar_type());
    ctx->saved_data["weight_dtype"] = int64_t(weight.scalar_type());
    return (row * valid.to(wide_type)).sum() / count;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto &h = saved[0], &w = saved[1], &logp = saved[2], &safe = saved[3], &valid = saved[4], &count = saved[5];
    const double smoothing = ctx->saved_data["smoothing"].toDouble();
    const int64_t vocab = logp.size(1);
    // d loss / d logits = (softmax - target distribution) * valid * grad / count.
    const auto scale = (grad_outputs[0].to(logp.scalar_type()) / count) * valid.to(logp.scalar_type());  // (N)
    auto grad = logp.exp();  // softmax (N, V)
    if (smoothing > 0) grad.sub_(smoothing / double(vocab));
    grad.scatter_add_(1, safe.unsqueeze(1), torch::full({safe.size(0), 1}, -(1.0 - smoothing), grad.options()));
    grad.mul_(scale.unsqueeze(1));
    const auto g = grad.to(h.scalar_type());
    const auto hidden_dtype = c10::ScalarType(ctx->saved_data["hidden_dtype"].toInt());
    const auto weight_dtype = c10::ScalarType(ctx->saved_data["weight_dtype"].toInt());
    auto grad_hidden = torch::matmul(g, w).to(hidden_dtype);      // (N, C)
    auto grad_weight = torch::matmul(g.t(), h).to(weight_dtype);  // (V, C)
    torch::Tensor grad_bias;
    if (ctx->saved_data["bias"].toBool()) grad_bias = grad.sum(0).to(weight_dtype);
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
