// The training loop: schedule, micro-batch accumulation, clipping, autocast, periodic evaluation,
// metrics.jsonl, the progress line and checkpoints; resuming continues bit for bit.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "transformer/config/config.h"
#include "transformer/models/model.h"
#include "transformer/tasks/task.h"
#include "transformer/text/tokenizer.h"
#include "transformer/train/distributed.h"

namespace qkv {

struct TrainOptions {
  bool resume = false;   // continue from the newest valid checkpoint of the run directory
  int64_t stop_at = -1;  // save and stop after this step (the schedule still spans train.steps)
  bool quiet = false;    // no progress line
  std::set<std::string> head;  // fine-tuning: parameters init_from did not provide (train.head_lr)
  const Distributed* distributed = nullptr;  // data parallel: this rank's group; null: one process
};

struct TrainResult {
  int64_t step = 0;
  Metrics valid;             // final evaluation, empty without a valid split
  double tokens_per_s = 0;   // training throughput, evaluation excluded
  double train_seconds = 0;  // this invocation's training time, evaluation excluded
  double wall_seconds = 0;
  int signal = 0;  // SIGINT or SIGTERM that stopped training after saving; 0: ran to the end
  bool early_stopped = false;  // train.patience evaluations without improvement
  std::string best;            // "accuracy 0.91 at step 400" when a best checkpoint was kept
};

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
StepOutcome train_step(TransformerModel& model, Task& task, torch::optim::Optimizer& optimizer, const TrainConfig& train,
                       const std::vector<torch::Tensor>& params, int64_t first_batch, int64_t micro_batch_size,
                       int64_t* tokens = nullptr, const Distributed* distributed = nullptr);

// Refuses to start a fresh run over a run directory that holds checkpoints (unless resuming).
void check_run_directory(const Experiment& experiment, bool resume);
// Creates the run directory (config.yaml, tokenizer.model) once the inputs have been checked.
void prepare_run_directory(const Experiment& experiment, const std::string& config_yaml, const Tokenizer& tokenizer,
                           bool resume);

// SIGINT and SIGTERM during train() finish the current step, save a checkpoint and return with
// TrainResult::signal set (every rank at the same step); a second signal ends the process at once.
// The random state of step s is a function of (seed, s, rank), so resuming needs no saved state.
TrainResult train(const Experiment& experiment, TransformerModel& model, Task& task, const Tokenizer& tokenizer,
                  const TrainOptions& options);

}  // namespace qkv
