// Transformer block with pre- or post-norm residual wiring.
#include "transformer/models/block.h"
#include "transformer/kernels/dropout.h"

namespace qkv {

BlockImpl::BlockImpl(const BlockOptions& options) : options_(options) {
  AttentionOptions attn;
  attn.d_model = options.d_model;
  attn.heads = options.heads;
  attn.dropout = options.attention_dropout;
  attn.bias = options.bias;
  attn.backend = options.attention;
  const NormOptions norm = options.norm_options();
  self_attn_ = register_module("self_attn", MultiHeadAttention(attn));
  self_norm_ = register_module("self_norm", Norm(norm));
  if (options.cross) {
    attn.cross = true;
    cross_attn_ = register_module("cross_attn", MultiHeadAttention(attn));
    cross_norm_ = register_module("cross_norm", Norm(norm));
  }
  FeedForwardOptions ff;
  ff.d_model = options.d_model;
  ff.d_ff = options.d_ff;
  ff.activation = options.activation;
  ff.bias = options.bias;
  ff_ = register_module("ff", FeedForward(ff));
  ff_norm_ = register_module("ff_norm", Norm(norm));
}

torch::Tensor BlockImpl::forward(torch::Tensor x, const BlockInputs& in, BlockCache* cache,
                                 torch::Tensor* weights) {
  const bool pre = options_.pre_norm;
  auto sublayer_input = [&](const torch::Tensor& h, Norm& norm) { return pre ? norm->forward(h) : h; };

  auto h = sublayer_input(x, self_norm_);
  x = residual(x, self_attn_->forward(h, {}, in.self, cache ? &cache->self : nullptr, weights), self_norm_);
  if (options_.cross) {
    h = sublayer_input(x, cross_norm_);
    x = residual(x, cross_attn_->forward(h, in.memory, in.cross, cache ? &cache->cross : nullptr), cross_norm_);
  }
  h = sublayer_input(x, ff_norm_);
  return residual(x, ff_->forward(h), ff_norm_);
}

torch::Tensor BlockImpl::residual(const torch::Tensor& x, const torch::Tensor& update, Norm& norm) {
  const bool drop = is_training() && options_.residual_dropout > 0.0;  // a 0 rate still costs a mask pass
  auto y = x + (drop ? qkv::dropout(update, options_.residual_dropout, true) : update);
  return options_.pre_norm ? y : norm->forward(y);  // post-norm: LayerNorm(x + Sublayer(x))
}

std::vector<torch::nn::Linear> BlockImpl::residual_projections() const {
  std::vector<torch::nn::Linear> out{self_attn_->out_proj(), ff_->out_proj()};
  if (options_.cross) out.push_back(cross_attn_->out_proj());
  return out;
}

}  // namespace qkv
