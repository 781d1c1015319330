// AdamW (Loshchilov & Hutter 2019) with the update of each parameter done in one pass over its
// memory: LibTorch's AdamW makes about eight passes per parameter (decay, two moment updates,
// square root, division, addition, the update), each reading and writing whole tensors. The state
// is LibTorch's own AdamWParamState, so checkpoints are the same either way.
#pragma once

#include <torch/torch.h>

namespace qkv {

class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace qkv
