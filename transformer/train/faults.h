// Fault injection for the fault battery: QKV_INJECT_NAN=loss@STEP or grad@STEP[,...], each
// optionally followed by :RANK, makes the loss, or the gradient of the first parameter, NaN at
// that step (0-based, counting optimizer steps) on that rank (every rank when none is given).
// Without the variable these are no-ops.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace qkv {

// The rank this process injects faults for (data parallel training sets it).
void set_fault_rank(int64_t rank);
// `loss` made NaN when a fault "loss@step" applies, else `loss` itself.
torch::Tensor inject_fault(const char* what, int64_t step, torch::Tensor loss);
// Sets the first defined gradient to NaN when a fault "grad@step" applies.
void inject_gradient_fault(const std::vector<torch::Tensor>& params, int64_t step);

}  // namespace qkv
