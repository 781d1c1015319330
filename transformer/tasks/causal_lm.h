// Causal language modelling: next-token cross-entropy over blocks of a corpus's token shards
// (prepared on first use: data/corpus.h); metrics loss (nats per token) and perplexity.
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
  std::vector<double> loss_counts(const TaskBatch& batch) const override { return {counted_targets(batch.targets)}; }
  torch::Tensor loss(Model& model, const TaskBatch& batch, const std::vector<double>& divisors) override;
  Metrics evaluate(Model& model, Split split, int64_t batch_size, int64_t max_batches) override;

  // Evaluation at another context length (length extrapolation). When loss_by_position is given,
  // it receives the mean loss at each position 0..seq_len-1 of the blocks; loss_by_band, every
  // block's mean loss over each band of kLossBand positions (min(kLossBand, seq_len); a tail
  // shorter than a band left out), (blocks, bands) float64, for intervals paired by block.
  static constexpr int64_t kLossBand = 64;
  Metrics evaluate_at(Model& model, Split split, int64_t seq_len, int64_t batch_size, int64_t max_batches,
                      std::vector<double>* loss_by_position = nullptr, torch::Tensor* loss_by_band = nullptr);
  // Sliding-window evaluation (Press et al. 2021, 4.1): windows of seq_len tokens starting every
  // `stride` tokens; the first window scores all its targets, each later one only its last
  // `stride`, so every target of the split (but a tail shorter than stride) is scored once, with at
  // least seq_len - stride tokens of context. stride == seq_len is the non-overlapping evaluation.
  Metrics evaluate_sliding(Model& model, Split split, int64_t seq_len, int64_t stride, int64_t batch_size);
  // The first min(max_blocks, all) non-overlapping blocks of seq_len + 1 tokens of a split,
  // (N, seq_len + 1); InputError when the split is shorter than one block.
  torch::Tensor split_blocks(Split split, int64_t seq_len, int64_t max_blocks) const;

 private:
  const TokenSource& split_tokens(Split split) const;

  int64_t seq_len_;
  uint64_t seed_;
  BlockSampler train_;
  TokenSource valid_tokens_, test_tokens_;  // memory-mapped shards (data/corpus.h)
};

// Mean next-token cross-entropy of a batch, computed in float32.
torch::Tensor causal_lm_loss(Model& model, const TaskBatch& batch, double divisor);

// Causal LM on uniformly random tokens from a vocabulary of `vocab` ids: no data or tokenizer,
// for benchmarks.
class SyntheticLmTask : public Task {
 public:
  SyntheticLmTask(int64_t vocab, int64_t seq_len, uint64_t seed) : vocab_(vocab), seq_len_(seq_len), seed_(seed) {}
  void prepare(const Experiment&, const Tokenizer&, bool) override {}
  bool has_split(Split split) const override { return split == Split::kTrain; }
  TaskBatch train_batch(int64_t index, int64_t batch_size) override;
  std::vector<double> loss_counts(const TaskBatch& batch) const override { return {counted_targets(batch.targets)}; }
  torch::Tensor loss(Model& model, const TaskBatch& batch, const std::vector<double>& divisors) override {
    return causal_lm_loss(model, batch, divisor_of(divisors, 0));
  }
  Metrics evaluate(Model&, Split, int64_t, int64_t) override { return {}; }

 private:
  int64_t vocab_, seq_len_;
  uint64_t seed_;
};

// Next-token cross-entropy at every target of a (B, T+1) block batch: (B, T) float64.
torch::Tensor causal_lm_token_losses(Model& model, const torch::Tensor& blocks);

}  // namespace qkv
