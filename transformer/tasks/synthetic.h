// Length-generalisation tasks with generated data: copy, reverse, duplicate (x x), sort, parity
// of a bit string, and multi-digit addition (Ruoss et al. 2023; Kazemnejad et al. 2023). Models
// train on lengths task.min_length..max_length and are scored by exact match at task.eval_lengths,
// which may lie far past them. Any family: gpt reads `bos x sep` and predicts `y eos`; bert reads
// `cls x sep` followed by one mask per answer symbol and predicts y at the masks; seq2seq encodes
// `x eos` and decodes `y eos`. Addition's x is `a + b` (n digits each, most significant first) and
// y their sum in n + 1 digits; addition_reversed writes all three least significant digit first,
// the order in which carries are computed. Parity's y is one symbol, 1 when x has an odd count of 1s.
//
// Exact match is computed from one teacher-forced pass: greedy decoding reproduces the answer
// exactly when, and only when, the argmax at every answer position is the answer's token (by
// induction over positions), so no decoding loop is needed and the three families are scored alike.
#pragma once

#include <ATen/core/Generator.h>

#include "transformer/tasks/task.h"

namespace qkv {

class SyntheticTask : public Task {
 public:
  explicit SyntheticTask(const Experiment& experiment);
  void prepare(const Experiment&, const Tokenizer&, bool) override {}  // nothing to read
  bool has_split(Split) const override { return true; }                // every split is generated
  TaskBatch train_batch(int64_t index, int64_t batch_size) override;
  std::vector<double> loss_counts(const TaskBatch& batch) const override { return {counted_targets(batch.targets)}; }
  torch::Tensor loss(Model& model, const TaskBatch& batch, const std::vector<double>& divisors) override;
  // loss and exact (mean over evaluation lengths inside the training range; all of them when none
  // is), then exact@N and token_acc@N per evaluation length N. Lengths the model's positions cannot
  // reach are left out.
  Metrics evaluate(Model& model, Split split, int64_t batch_size, int64_t max_batches) override;

  // batch_size examples of length n drawn from `generator`.
  TaskBatch make_batch(int64_t n, int64_t batch_size, at::Generator& generator) const;
  const std::vector<int64_t>& eval_lengths() const { return eval_lengths_; }

  // The symbols of a task's vocabulary, in id order after the special tokens.
  static std::string alphabet(const TaskConfig& task);

 private:
  TaskConfig config_;
  Family family_;
  uint64_t seed_;
  std::vector<int64_t> eval_lengths_;
};

// Per example of a batch: the logits' argmax equals the target at every counted position (B) bool,
// and the counts of correct and counted target tokens.
struct SyntheticScores {
  torch::Tensor exact;
  int64_t correct_tokens = 0, counted_tokens = 0;
};
SyntheticScores score_batch(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace qkv
