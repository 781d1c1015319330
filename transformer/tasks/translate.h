// Translation with an encoder-decoder model: the encoder reads `source </s>`, the decoder is
// teacher-forced on `<s> target` to predict `target </s>` with label-smoothed cross-entropy
// (Szegedy et al. 2016; Vaswani et al. 2017, 5.4). Training batches hold sentences of similar
// length: with train.batch_tokens they are cut to about that many target tokens each (Vaswani et
// al. 5.1), the batches visited in a fresh order each epoch. Evaluation reports loss and ppl
// (without smoothing) and BLEU and chrF of the task.beam decoding against the reference text.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "transformer/data/epoch_order.h"
#include "transformer/data/parallel.h"
#include "transformer/infer/search.h"
#include "transformer/tasks/task.h"

namespace qkv {

class TranslateTask : public Task {
 public:
  explicit TranslateTask(const Experiment& experiment);
  void prepare(const Experiment& experiment, const Tokenizer& tokenizer, bool need_train) override;
  bool has_split(Split split) const override { return !splits_[int(split)].empty(); }
  TaskBatch train_batch(int64_t index, int64_t batch_size) override;
  std::vector<double> loss_counts(const TaskBatch& batch) const override { return {counted_targets(batch.targets)}; }
  torch::Tensor loss(Model& model, const TaskBatch& batch, const std::vector<double>& divisors) override;
  Metrics evaluate(Model& model, Split split, int64_t batch_size, int64_t max_batches) override;

  // Translations of source sentences (the model in eval mode), in order.
  std::vector<std::string> translate(Model& model, const std::vector<std::string>& sources, int64_t batch_size,
                                     const SearchOptions& options) const;
  SearchOptions search_options() const { return search_; }
  void attach(const Tokenizer& tokenizer);

 private:
  struct Encoded {
    std::vector<int64_t> source, target;  // source ends with </s>; target without <s> or </s>
    std::string reference;                // the target text, for BLEU and chrF
  };
  Encoded encode(const SentencePair& pair) const;
  TaskBatch make_batch(const std::vector<const Encoded*>& examples) const;
  torch::Tensor encode_sources(const std::vector<std::string>& sources, torch::Tensor* keep) const;

  Experiment experiment_;
  Tokenizer tokenizer_;
  SearchOptions search_;
  std::vector<Encoded> splits_[3];                // by Split
  std::vector<std::vector<int64_t>> batches_;     // train.batch_tokens: examples of each batch
  EpochOrder order_;                              // over examples, or over batches_
  int64_t dropped_long_ = 0;                      // training pairs longer than train.seq_len
};

// train.batch_tokens: training examples, lengths[i] = {target, source} tokens, grouped into
// batches of similar length holding about batch_tokens positions each (padding counted).
std::vector<std::vector<int64_t>> length_batches(const std::vector<std::pair<int64_t, int64_t>>& lengths, int64_t batch_tokens,
                                                 uint64_t seed);

// An encoder-decoder batch on the compute device: the encoder reads each source as given, the
// decoder is teacher-forced on `<s> target` to predict `target </s>` (padding is kIgnore).
TaskBatch seq2seq_batch(const std::vector<const std::vector<int64_t>*>& sources,
                        const std::vector<const std::vector<int64_t>*>& targets, const SpecialTokens& source_special,
                        const SpecialTokens& target_special);
// The training examples of batch `index`: batches[order.at(index)] when train.batch_tokens cut
// them (order over batches), else batch_size examples in the epoch order (order over examples).
std::vector<int64_t> batch_members(const std::vector<std::vector<int64_t>>& batches, EpochOrder& order, int64_t index,
                                   int64_t batch_size);

// An encoder-decoder batch (source, teacher-forced tokens, targets): the decoder's logits in
// float32 (B, T, V), and its label-smoothed token loss summed and divided by `divisor`.
torch::Tensor teacher_forced_logits(Model& model, const TaskBatch& batch);
torch::Tensor seq2seq_loss(Model& model, const TaskBatch& batch, double label_smoothing, double divisor);

// Pads rows of token ids (right) into (R, T) int64 with their keep mask.
torch::Tensor pad_rows(const std::vector<const std::vector<int64_t>*>& rows, int64_t pad, torch::Tensor* keep);

}  // namespace qkv
