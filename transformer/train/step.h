// One optimizer step: train.accumulate micro-batches, their gradients averaged over the ranks of
// a data-parallel group, clipped, checked for non-finite values, then applied.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "transformer/config/config.h"
#include "transformer/models/model.h"
#include "transformer/tasks/task.h"
#include "transformer/train/distributed.h"

namespace qkv {

struct StepOutcome {
  double loss = 0;       // mean over the micro-batches
  bool applied = true;   // false: a non-finite loss or gradient, the update was not made
  std::string problem;   // what was not finite ("loss is nan", "gradient of decoder.block_0.ff.w1.weight")
};

// One optimizer step over train.accumulate micro-batches, numbers first_batch.. of the task's
// training order; adds the tokens seen to *tokens. A non-finite loss or gradient norm leaves the
// weights as they were and says which tensor it was.
// With a distributed group each rank trains on its share of every micro-batch, the gradients are
// averaged over the ranks and the loss and token counts summed, so every rank decides alike.
StepOutcome train_step(Model& model, Task& task, torch::optim::Optimizer& optimizer, const TrainConfig& train,
                       const std::vector<torch::Tensor>& params, int64_t first_batch, int64_t micro_batch_size,
                       int64_t* tokens = nullptr, const Distributed* distributed = nullptr);

}  // namespace qkv
