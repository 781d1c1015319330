// Denoising pretraining for the encoder-decoder (Lewis et al. 2020, BART, 2.2): the encoder reads
// a corrupted line, the decoder is teacher-forced on `<s> line` to write the line whole, with the
// translation task's label-smoothed cross-entropy. The corruption is text infilling: spans whose
// lengths are drawn from Poisson(task.span_lambda) cover task.noise_ratio of the line's tokens,
// each span replaced by one <mask> (a span of length 0 inserts one); with
// task.permute_sentences the line's sentences are first shuffled. A training batch's corruption
// is a function of (seed, batch index) alone, so a resumed run and every split of a batch into
// micro-batches or ranks see the same; each evaluation corrupts a split the same way.
//
// Monolingual lines (data.format text, one or several files) are the data; a translation
// experiment then starts from the run with init_from, the same model section and tokenizer.
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "transformer/data/epoch_order.h"
#include "transformer/tasks/task.h"

namespace qkv {

// One draw of Poisson(lambda) by inversion of its distribution function (the same numbers from the
// same stream on every platform, unlike std::poisson_distribution); lambda in [0.1, 64].
int64_t poisson_draw(double lambda, std::mt19937_64& rng);

struct Infilled {
  std::vector<int64_t> tokens;                      // the corrupted line
  std::vector<std::pair<int64_t, int64_t>> spans;   // (start in the line, length), in line order
};

// Text infilling of one line of tokens: exactly round(ratio * n) of its n tokens masked, in spans
// of Poisson(lambda) lengths drawn until they cover that many (the last one shortened to fit),
// placed uniformly at random among the unmasked tokens, each span written as one mask_id.
Infilled text_infilling(const std::vector<int64_t>& line, int64_t mask_id, double ratio, double lambda, std::mt19937_64& rng);

// The line's sentences in a random order: a sentence ends at a token that ends_sentence marks (or
// at the end of the line).
std::vector<int64_t> permute_sentences(const std::vector<int64_t>& line, const std::vector<bool>& ends_sentence,
                                       std::mt19937_64& rng);

class DenoiseTask : public Task {
 public:
  explicit DenoiseTask(const Experiment& experiment);
  void prepare(const Experiment& experiment, const Tokenizer& tokenizer, bool need_train) override;
  bool has_split(Split split) const override { return !lines_[int(split)].empty(); }
  TaskBatch train_batch(int64_t index, int64_t batch_size) override;
  std::vector<double> loss_counts(const TaskBatch& batch) const override { return {counted_targets(batch.targets)}; }
  torch::Tensor loss(Model& model, const TaskBatch& batch, const std::vector<double>& divisors) override;
  // loss and ppl of the whole lines (no smoothing), and accuracy: the share of target tokens the
  // teacher-forced decoder predicts right.
  Metrics evaluate(Model& model, Split split, int64_t batch_size, int64_t max_batches) override;

  // The encoder input of one line: its corruption, ending in </s>, at most seq_len tokens.
  std::vector<int64_t> corrupt(const std::vector<int64_t>& line, std::mt19937_64& rng) const;

 private:
  TaskBatch make_batch(const std::vector<const std::vector<int64_t>*>& lines, std::mt19937_64& rng) const;

  Experiment experiment_;
  SpecialTokens special_;
  std::vector<bool> ends_sentence_;                // by token id
  std::vector<std::vector<int64_t>> lines_[3];     // by Split: tokens, at most seq_len - 1
  std::vector<std::vector<int64_t>> batches_;      // train.batch_tokens: lines of each batch
  EpochOrder order_;                               // over lines, or over batches_
};

}  // namespace qkv
