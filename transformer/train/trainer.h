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
#include "transformer/train/run_directory.h"
#include "transformer/train/step.h"

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

// SIGINT and SIGTERM during train() finish the current step, save a checkpoint and return with
// TrainResult::signal set (every rank at the same step); a second signal ends the process at once.
// The random state of step s is a function of (seed, s, rank), so resuming needs no saved state.
TrainResult train(const Experiment& experiment, Model& model, Task& task, const Tokenizer& tokenizer,
                  const TrainOptions& options);

}  // namespace qkv
