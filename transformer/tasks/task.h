// The task interface: what a task kind contributes to training and evaluation (its data, its
// batches, its loss and its metrics). The trainer and the commands see only this.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "transformer/config/config.h"
#include "transformer/models/model.h"
#include "transformer/text/tokenizer.h"

namespace qkv {

enum class Split { kTrain, kValid, kTest };
const char* split_name(Split split);

// Named metrics in report order; "loss" first.
using Metrics = std::vector<std::pair<std::string, double>>;
double metric(const Metrics& metrics, const std::string& name);
// The metrics one-line summaries show after loss and ppl, in that order, where a task reports them.
const std::vector<std::string>& headline_metric_names();

// Targets equal to kIgnore add nothing to the loss or the metrics.
constexpr int64_t kIgnore = -100;

struct TaskBatch {
  torch::Tensor tokens;    // (R, T) model inputs (the decoder's for seq2seq); R rows = B examples x group
  torch::Tensor targets;   // (R, T) token to predict at each position, or kIgnore
  torch::Tensor keep;      // (R, T) bool, true on real tokens; undefined: no padding
  torch::Tensor segments;  // (R, T) segment ids of sentence pairs (bert); undefined: none
  torch::Tensor source;    // (B, S) encoder inputs, seq2seq only
  torch::Tensor source_keep;  // (B, S) bool; undefined: no padding
  torch::Tensor labels;    // (B) class index, right candidate (int64) or score (float32)
  torch::Tensor choice_keep;  // (B, group) bool: which candidates exist (choice)
  int64_t group = 1;       // rows per example: candidates (choice), both orders (gpt similarity)
  int64_t tokens_count = 0;  // positions the model processes
};

// The batch's tensors on the compute device (train.device); the batch itself on the CPU.
TaskBatch to_compute_device(TaskBatch batch);

class Task {
 public:
  virtual ~Task() = default;
  // Reads and tokenizes the splits it needs; InputError on bad data.
  virtual void prepare(const Experiment& experiment, const Tokenizer& tokenizer, bool need_train) = 0;
  virtual bool has_split(Split split) const = 0;
  // Training batch number `index` of `batch_size` examples: the same batch whenever asked.
  virtual TaskBatch train_batch(int64_t index, int64_t batch_size) = 0;
  // Mean loss of a batch, a scalar with gradient.
  virtual torch::Tensor loss(Model& model, const TaskBatch& batch) = 0;
  // Metrics over a split (at most max_batches batches; 0: all). The caller sets eval mode.
  virtual Metrics evaluate(Model& model, Split split, int64_t batch_size, int64_t max_batches) = 0;
};

std::unique_ptr<Task> make_task(const Experiment& experiment);

}  // namespace qkv
