// Feed-forward block with ReLU, GELU (exact or tanh-approximated) or SwiGLU.
#include "transformer/core/feed_forward.h"
#include "transformer/core/linear.h"
#include "transformer/kernels/gelu.h"

namespace qkv {

torch::Tensor gelu(const torch::Tensor& x) { return gelu_kernel_applies(x) ? gelu_kernel(x) : torch::gelu(x); }

FeedForwardImpl::FeedForwardImpl(const FeedForwardOptions& options) : options_(options) {
  auto linear = [&](int64_t in, int64_t out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(options.bias)); };
  up_ = register_module("up", linear(options.d_model, options.d_ff));
  if (options.activation == Activation::kSwiglu) gate_ = register_module("gate", linear(options.d_model, options.d_ff));
  down_ = register_module("down", linear(options.d_ff, options.d_model));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  auto h = apply_linear(up_, x);  // (B, T, F)
  switch (options_.activation) {
    case Activation::kRelu: h = torch::relu(h); break;
    case Activation::kGelu: h = qkv::gelu(h); break;
    case Activation::kGeluTanh: h = torch::gelu(h, "tanh"); break;  // LibTorch's; no CPU kernel of qkv's
    case Activation::kSwiglu: h = torch::silu(h) * apply_linear(gate_, x); break;
  }
  return apply_linear(down_, h);  // (B, T, C)
}

}  // namespace qkv
