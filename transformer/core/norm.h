// Normalisation layers: LayerNorm (optionally without bias) and RMSNorm (Zhang & Sennrich 2019).
#pragma once

#include <torch/torch.h>

#include "transformer/config/kinds.h"

namespace qkv {

struct NormOptions {
  int64_t dim = 0;
  NormKind kind = NormKind::kLayerNorm;
  bool bias = true;  // LayerNorm only
  double eps = 1e-5;
};

class NormImpl : public torch::nn::Module {
 public:
  explicit NormImpl(const NormOptions& options);
  torch::Tensor forward(const torch::Tensor& x);  // (..., C) -> (..., C)

 private:
  NormOptions options_;
  torch::Tensor weight_, bias_;
};
TORCH_MODULE(Norm);

}  // namespace qkv
