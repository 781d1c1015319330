// The task interface: what a task kind contributes to training and evaluation (its data, its
// batches, its loss and its metrics). The trainer and the commands see only this.
#pragma once

#include <torch/torch.h>

#include <algorithm>
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
  // Where this batch's examples sit in the training step's whole batch (a micro-batch or a rank's
  // share starts past 0): dropout masks follow the whole batch's element indices.
  int64_t first_example = 0;
  int64_t examples() const;
};

// Examples [first, first + count) of a batch, as a batch of their own (padding kept as it is).
TaskBatch slice_batch(const TaskBatch& batch, int64_t first, int64_t count);

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
  // A task's loss is a sum of terms (next tokens; masked tokens and sentence pairs; examples and
  // the auxiliary language model), each a sum over its units divided by a count of them. For
  // training, the count is over the step's whole batch, every micro-batch and rank, so that
  // sharing a batch changes nothing. loss_counts: the units of each term in this batch.
  virtual std::vector<double> loss_counts(const TaskBatch& batch) const = 0;
  // The loss of a batch with each term divided by divisors[term]: a scalar with gradient.
  virtual torch::Tensor loss(Model& model, const TaskBatch& batch, const std::vector<double>& divisors) = 0;
  // The batch's own mean loss: each term divided by its count in this batch.
  torch::Tensor mean_loss(Model& model, const TaskBatch& batch) { return loss(model, batch, loss_counts(batch)); }
  // Metrics over a split (at most max_batches batches; 0: all). The caller sets eval mode.
  virtual Metrics evaluate(Model& model, Split split, int64_t batch_size, int64_t max_batches) = 0;
};

std::unique_ptr<Task> make_task(const Experiment& experiment);

// A term's divisor: its count, at least 1 (a term with no units sums to 0 and stays 0).
inline double divisor_of(const std::vector<double>& divisors, size_t term) {
  return term < divisors.size() ? std::max(divisors[term], 1.0) : 1.0;
}
// Units of a next-token or masked-token term: the targets that are not kIgnore.
double counted_targets(const torch::Tensor& targets);

}  // namespace qkv
