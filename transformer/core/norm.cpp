// LayerNorm and RMSNorm.
#include "transformer/core/norm.h"

namespace qkv {

NormImpl::NormImpl(const NormOptions& options) : options_(options) {
  weight_ = register_parameter("weight", torch::ones({options.dim}));
  if (options.kind == NormKind::kLayerNorm && options.bias) {
    bias_ = register_parameter("bias", torch::zeros({options.dim}));
  }
}

torch::Tensor NormImpl::forward(const torch::Tensor& x) {
  if (options_.kind == NormKind::kLayerNorm) {
    // A bf16 input (a head after an autocast matmul) is normalised in the weights' float32.
    const auto input = x.scalar_type() == weight_.scalar_type() ? x : x.to(weight_.scalar_type());
    return torch::layer_norm(input, {options_.dim}, weight_, bias_, options_.eps);
  }
  // x / sqrt(mean(x^2) + eps) * g, computed in float32 for bf16 inputs.
  auto xf = x.to(torch::kFloat32);
  auto normed = xf * torch::rsqrt(xf.pow(2).mean(-1, true) + options_.eps);
  return (normed * weight_).to(x.dtype());
}

}  // namespace qkv
