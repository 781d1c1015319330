// Labelled tasks over a pretrained body: classify (one sentence), pair (entailment, paraphrase;
// similarity as regression) and choice (a context with each candidate scored, softmax over the
// candidates). Inputs follow the family's layout (tasks/inputs.h); the head reads the first token
// (bert) or the last real token (gpt). A gpt reads a pair without an order (similarity, paraphrase:
// task.pair_order) in both orders and sums the two representations before the head (Radford et
// al. 2018, 3.3); task.lm_weight adds GPT-1's
// auxiliary language-model loss. Metrics: loss, accuracy, F1 (of task.positive, or macro over
// more than two classes) and Matthews correlation; Pearson, Spearman and MSE for regression;
// loss and accuracy for choice.
#pragma once

#include <cstdint>
#include <vector>

#include "transformer/data/epoch_order.h"
#include "transformer/data/examples.h"
#include "transformer/tasks/inputs.h"
#include "transformer/tasks/task.h"

namespace qkv {

// One example as the model sees it: group rows (1; 2 for gpt similarity; candidates for choice).
struct EncodedExample {
  std::vector<EncodedInput> rows;
  int64_t label = -1;
  float score = 0;
};

// A prediction: the class (or candidate) with its probability, or the score.
struct Prediction {
  int64_t label = -1;
  double probability = 0;
  double score = 0;
  std::vector<double> probabilities;  // per class or candidate
};

class ClassifyTask : public Task {
 public:
  explicit ClassifyTask(const Experiment& experiment);
  void prepare(const Experiment& experiment, const Tokenizer& tokenizer, bool need_train) override;
  bool has_split(Split split) const override { return !examples_[int(split)].empty(); }
  TaskBatch train_batch(int64_t index, int64_t batch_size) override;
  // Examples; and, with task.lm_weight, the next-token targets of the auxiliary loss.
  std::vector<double> loss_counts(const TaskBatch& batch) const override;
  torch::Tensor loss(Model& model, const TaskBatch& batch, const std::vector<double>& divisors) override;
  Metrics evaluate(Model& model, Split split, int64_t batch_size, int64_t max_batches) override;

  // The tokenizer examples are encoded with (prepare sets it; qkv predict sets it alone).
  void attach(const Tokenizer& tokenizer);
  // Predictions for the examples of any file in the experiment's format (labels optional).
  std::vector<Prediction> predict(Model& model, const std::vector<Example>& examples, int64_t batch_size);
  // Metrics of predictions against the gold values of the same examples.
  Metrics score(const std::vector<Prediction>& predictions, const std::vector<Example>& examples, double loss) const;

  // An example as the model reads it: its rows (candidates, or both orders of a pair) and label.
  EncodedExample encode(const Example& example) const;

 private:
  TaskBatch make_batch(const std::vector<const EncodedExample*>& examples) const;
  // Outputs per example: class logits (B, N), candidate scores (B, K) or scores (B).
  // hidden, when given, receives the body's output (R, T, C).
  torch::Tensor forward(Model& model, const TaskBatch& batch, torch::Tensor* hidden = nullptr) const;
  // Summed head loss of a batch's outputs.
  torch::Tensor head_loss_sum(const torch::Tensor& outputs, const TaskBatch& batch) const;

  Experiment experiment_;
  Family family_;
  TaskKind kind_;
  bool regression_;
  int64_t positive_ = 1;  // class whose F1 is reported (binary)
  bool both_orders_ = false;  // gpt pairs without an order: read both ways, added (task.pair_order)
  Tokenizer tokenizer_;
  std::vector<EncodedExample> examples_[3];  // by Split
  EpochOrder order_;
};

}  // namespace qkv
