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
  double loss = 0;       // the whole batch's loss: every term over its units in the whole batch
  double grad_norm = 0;  // of all gradients, before clipping
  bool applied = true;   // false: a non-finite loss or gradient, the update was not made
  std::string problem;   // what was not finite ("loss is nan", "gradient of decoder.block_0.ff.w1.weight")
};

// The micro-batches one rank trains on in a step: the whole batch split into train.accumulate
// contiguous micro-batches, each into `world` contiguous shares (sizes differ by at most one
// example); this rank's share of each, skipping empty ones.
std::vector<TaskBatch> rank_batches(const TaskBatch& whole, int64_t accumulate, int64_t rank, int64_t world);

// Forward and backward of one rank's shares of a step's whole batch (rank_batches), each loss term
// divided by counts (the whole batch's loss_counts): gradients add into the parameters' .grad.
// Returns this rank's part of the loss; adds its tokens to *tokens.
double backward_shares(Model& model, Task& task, const TaskBatch& whole, const std::vector<double>& counts,
                       const TrainConfig& train, int64_t rank, int64_t world, uint64_t dropout_seed, int64_t step,
                       int64_t* tokens = nullptr);

// One optimizer step on training batch `batch_index` of train.batch_size examples: every loss
// term is a sum over its units divided by their count in the whole batch, so the gradients of the
// micro-batches and of the ranks add up to the whole batch's, whatever the split. Dropout is
// seeded with dropout_seed before each micro-batch and hashes indices in the whole batch
// (kernels/dropout.h DropoutRows), so it draws the masks one process would. Adds the tokens seen
// to *tokens. A non-finite loss or gradient norm leaves the weights as they were and says which
// tensor it was; with a group, gradients and losses are summed over the ranks, so every rank
// decides alike.
StepOutcome train_step(Model& model, Task& task, torch::optim::Optimizer& optimizer, const TrainConfig& train,
                       const std::vector<torch::Tensor>& params, int64_t batch_index, uint64_t dropout_seed,
                       int64_t* tokens = nullptr, const Distributed* distributed = nullptr);

}  // namespace qkv
