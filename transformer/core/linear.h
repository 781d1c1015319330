// A Linear module applied through at::linear. LibTorch 1.13's C++ torch::nn::Linear multiplies by
// weight.t(), a view, so autocast casts the weight to bf16 at every call instead of once per
// autocast scope (it keeps casts of parameters, not of views of them): decoding re-cast every
// weight for every token. at::linear is what autocast intercepts, with the parameter itself.
#pragma once

#include <torch/torch.h>

namespace qkv {

inline torch::Tensor apply_linear(const torch::nn::Linear& layer, const torch::Tensor& x) {
  return torch::linear(x, layer->weight, layer->bias);
}

}  // namespace qkv
