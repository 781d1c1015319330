// Masked language modelling (Devlin et al. 2019, 3.1): of the real, non-special tokens of each
// sequence, task.mask_prob are selected (whole words with task.whole_word); of those,
// task.mask_replace become <mask>, task.mask_random a random token and the rest stay; the loss
// is the cross-entropy at the selected positions only. Inputs are [CLS] a [SEP] b [SEP] with
// segment ids: consecutive documents of a corpus packed into two segments up to train.seq_len
// (data/segment_pairs.h), or
// the two sentences of each example of pair data. Metrics: loss, ppl and accuracy at the
// selected positions. With task.sentence_objective, a two-way head on the pooled [CLS] learns
// whether b is a's own continuation (next: half the time b comes from another sequence at least
// two away) or in order (order: half the time a and b are swapped); its loss is added with
// task.sentence_weight and its loss and accuracy are reported. Masks and sentence choices are a
// function of (seed, batch), so a resumed run sees the same.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "transformer/data/epoch_order.h"
#include "transformer/data/segment_pairs.h"
#include "transformer/tasks/inputs.h"
#include "transformer/tasks/task.h"

namespace qkv {

struct MaskingOptions {
  double prob = 0.15, replace = 0.8, random = 0.1;
  bool whole_word = false;
};

// Masks a padded batch in place of a copy: returns (inputs, targets), targets kIgnore where not
// selected. word_start[id] says whether a piece begins a word; is_special[id] excludes an id
// from selection and from random replacement; random tokens are drawn from the other ids.
std::pair<torch::Tensor, torch::Tensor> mask_tokens(const torch::Tensor& tokens, const torch::Tensor& keep,
                                                    const std::vector<bool>& word_start,
                                                    const std::vector<bool>& is_special, int64_t mask_id,
                                                    const MaskingOptions& options, std::mt19937_64& rng);

// The sequence `row` of `split` as the objective presents it, with its label: 1 (b continues a in
// order), 0 (b from elsewhere, or a and b swapped), kIgnore (objective none, or no b).
int64_t sentence_pair(size_t row, const PairSplit& split,
                      SentenceObjective objective, std::mt19937_64& rng, TextPair& pair);

class MaskedLmTask : public Task {
 public:
  explicit MaskedLmTask(const Experiment& experiment);
  void prepare(const Experiment& experiment, const Tokenizer& tokenizer, bool need_train) override;
  bool has_split(Split split) const override { return !sequences_[int(split)].empty(); }
  TaskBatch train_batch(int64_t index, int64_t batch_size) override;
  // Masked tokens; and, with a sentence objective, the pairs that have a sentence label.
  std::vector<double> loss_counts(const TaskBatch& batch) const override;
  torch::Tensor loss(Model& model, const TaskBatch& batch, const std::vector<double>& divisors) override;
  Metrics evaluate(Model& model, Split split, int64_t batch_size, int64_t max_batches) override;

 private:
  // "train", "valid" or "test": a corpus's documents, or sentence pairs of an examples file.
  PairSplit read_split(const Experiment& e, const std::string& split, const Tokenizer& tokenizer) const;
  TaskBatch make_batch(const std::vector<size_t>& rows, const PairSplit& split, std::mt19937_64& rng) const;

  int64_t seq_len_;
  uint64_t seed_;
  MaskingOptions masking_;
  SentenceObjective objective_ = SentenceObjective::kNone;
  double sentence_weight_ = 1.0;
  SpecialTokens special_;
  int64_t mask_id_ = -1, pad_id_ = 0;
  std::vector<bool> word_start_, is_special_;
  PairSplit sequences_[3];  // by Split
  EpochOrder order_;
};

// Splits lines (already tokenized) into [CLS] a [SEP] b [SEP] sequences of at most max_len
// tokens as pack_segments does. pack_pairs returns the segments, pack_lines the encoded sequences.
std::vector<TextPair> pack_pairs(const std::vector<std::vector<int>>& lines, int64_t max_len);
std::vector<EncodedInput> pack_lines(const std::vector<std::vector<int>>& lines, const SpecialTokens& special,
                                     int64_t max_len);

}  // namespace qkv
