// Feed-forward block with ReLU, GELU or SwiGLU.
#include "transformer/core/feed_forward.h"

namespace qkv {

FeedForwardImpl::FeedForwardImpl(const FeedForwardOptions& options) : options_(options) {
  auto linear = [&](int64_t in, int64_t out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(options.bias)); };
  up_ = register_module("up", linear(options.d_model, options.d_ff));
  if (options.activation == Activation::kSwiglu) gate_ = register_module("gate", linear(options.d_model, options.d_ff));
  down_ = register_module("down", linear(options.d_ff, options.d_model));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  auto h = up_->forward(x);  // (B, T, F)
  switch (options_.activation) {
    case Activation::kRelu: h = torch::relu(h); break;
    case Activation::kGelu: h = torch::gelu(h); break;
    case Activation::kSwiglu: h = torch::silu(h) * gate_->forward(x); break;
  }
  return down_->forward(h);  // (B, T, C)
}

}  // namespace qkv
