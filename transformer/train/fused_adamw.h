// AdamW (Loshchilov & Hutter 2019) with the update of each parameter done in one pass over its
// memory: LibTorch's AdamW makes about eight passes per parameter (decay, two moment updates,
// square root, division, addition, the update), each reading and writing whole tensors. The state
// is LibTorch's own AdamWParamState, so checkpoints are the same either way.
#pragma once

#include <torch/torch.h>

namespace qkv {

// On the CPU, float32 contiguous parameters take qkv's one-pass loop below. On a GPU with
// LibTorch >= 2.0 they go, a parameter group at a time, to LibTorch's multi-tensor kernel
// (at::_fused_adamw_, what PyTorch's AdamW(fused=True) runs). Anything else takes LibTorch's
// formula op by op.
class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

// Whether at::_fused_adamw_ exists in this LibTorch for tensors on that device (CUDA from 2.0,
// the CPU from 2.4).
bool multi_tensor_adamw_available(const torch::Device& device);

// One AdamW update of equally long lists through at::_fused_adamw_, every parameter at the same
// step (counted from 1, already incremented). Used by FusedAdamW on a GPU; exposed so that tests
// can hold it against the one-pass loop on the CPU.
void multi_tensor_adamw(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
                        const std::vector<torch::Tensor>& exp_avgs, const std::vector<torch::Tensor>& exp_avg_sqs,
                        int64_t step, double lr, double beta1, double beta2, double weight_decay, double eps);

}  // namespace qkv
