// Causal language modelling: next-token cross-entropy over blocks of a plain-text corpus;
// metrics loss (nats per token) and perplexity.
#pragma once

#include "transformer/data/text_blocks.h"
#include "transformer/tasks/task.h"

namespace qkv {

class CausalLmTask : public Task {
 public:
  explicit CausalLmTask(const Experiment& experiment);
  void prepare(const Experiment& experiment, const Tokenizer& tokenizer, bool need_train) override;
  bool has_split(Split split) const override;
  TaskBatch train_batch(int64_t index, int64_t batch_size) override;
  torch::Tensor loss(TransformerModel& model, const TaskBatch& batch) override;
  Metrics evaluate(TransformerModel& model, Split split, int64_t batch_size, int64_t max_batches) override;

  // Evaluation at another context length (length extrapolation). When loss_by_position is given,
  // it receives the mean loss at each position 0..seq_len-1 of the blocks.
  Metrics evaluate_at(TransformerModel& model, Split split, int64_t seq_len, int64_t batch_size, int64_t max_batches,
                      std::vector<double>* loss_by_position = nullptr);

 private:
  int64_t seq_len_;
  uint64_t seed_;
  BlockSampler train_;
  torch::Tensor valid_tokens_, test_tokens_;
};

// Next-token cross-entropy of a (B, T+1) block batch, summed over the batch: (T) float64.
torch::Tensor causal_lm_loss_per_position(TransformerModel& model, const torch::Tensor& blocks);

}  // namespace qkv
