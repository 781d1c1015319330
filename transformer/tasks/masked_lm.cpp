// Masked LM task.
#include "transformer/tasks/masked_lm.h"

#include "transformer/data/corpus.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "transformer/data/examples.h"
#include "transformer/data/lines.h"
#include "transformer/util/errors.h"
#include "transformer/util/random.h"

namespace qkv {

std::pair<torch::Tensor, torch::Tensor> mask_tokens(const torch::Tensor& tokens, const torch::Tensor& keep,
                                                    const std::vector<bool>& word_start,
                                                    const std::vector<bool>& is_special, int64_t mask_id,
                                                    const MaskingOptions& o, std::mt19937_64& rng) {
  auto inputs = tokens.clone();
  auto targets = torch::full_like(tokens, kIgnore);
  auto in = inputs.accessor<int64_t, 2>();
  auto out = targets.accessor<int64_t, 2>();
  auto real = keep.accessor<bool, 2>();
  std::vector<int64_t> normal;  // ids random replacement draws from
  for (size_t id = 0; id < is_special.size(); ++id)
    if (!is_special[id]) normal.push_back(int64_t(id));
  for (int64_t i = 0; i < tokens.size(0); ++i) {
    std::vector<std::vector<int64_t>> words;  // candidate positions grouped into selection units
    int64_t candidates = 0;
    for (int64_t j = 0; j < tokens.size(1); ++j) {
      const int64_t id = in[i][j];
      if (!real[i][j] || is_special[size_t(id)]) continue;
      const bool continues = o.whole_word && !words.empty() && words.back().back() == j - 1 && !word_start[size_t(id)];
      if (continues) words.back().push_back(j);
      else words.push_back({j});
      ++candidates;
    }
    if (candidates == 0 || o.prob <= 0) continue;
    // As many selected as prob * candidates (at least one), whole units only.
    const int64_t wanted = std::max<int64_t>(1, int64_t(std::llround(o.prob * double(candidates))));
    for (size_t k = words.size(); k > 1; --k) std::swap(words[k - 1], words[size_t(rng() % k)]);
    int64_t selected = 0;
    for (const auto& word : words) {
      if (selected >= wanted) break;
      if (selected > 0 && selected + int64_t(word.size()) > wanted) continue;
      for (int64_t j : word) {
        out[i][j] = in[i][j];
        const double r = uniform01(rng);
        if (r < o.replace) in[i][j] = mask_id;
        else if (r < o.replace + o.random) in[i][j] = normal[size_t(rng() % normal.size())];
      }
      selected += int64_t(word.size());
    }
  }
  return {inputs, targets};
}

std::vector<TextPair> pack_pairs(const std::vector<std::vector<int>>& lines, int64_t max_len) {
  std::vector<TextPair> out;
  auto length = [&](int64_t i) { return int64_t(lines[size_t(i)].size()); };
  pack_segments(int64_t(lines.size()), max_len, length, [&](int64_t a, int64_t b, int64_t end) {
    TextPair p;
    for (int64_t i = a; i < end; ++i) (i < b ? p.a : p.b).insert((i < b ? p.a : p.b).end(), lines[size_t(i)].begin(), lines[size_t(i)].end());
    out.push_back(std::move(p));
  });
  return out;
}

std::vector<EncodedInput> pack_lines(const std::vector<std::vector<int>>& lines, const SpecialTokens& special,
                                     int64_t max_len) {
  std::vector<EncodedInput> out;
  for (auto& p : pack_pairs(lines, max_len)) out.push_back(encode_input(Family::kBert, std::move(p.a), std::move(p.b), special, max_len));
  return out;
}

int64_t sentence_pair(size_t row, const PairSplit& split, SentenceObjective objective,
                      std::mt19937_64& rng, TextPair& pair) {
  pair = split.at(row);
  if (objective == SentenceObjective::kNone || pair.b.empty()) return kIgnore;
  const bool change = uniform01(rng) < 0.5;
  if (!change) return 1;
  if (objective == SentenceObjective::kOrder) {
    std::swap(pair.a, pair.b);
    return 0;
  }
  // next: b from another sequence, at least two away so that it never continues a.
  const size_t n = split.size();
  if (n < 4) return 1;
  size_t other = row;
  while (other + 1 >= row && other <= row + 1) other = size_t(rng() % n);
  TextPair source = split.at(other);
  pair.b = std::move(source.b.empty() ? source.a : source.b);
  return 0;
}

MaskedLmTask::MaskedLmTask(const Experiment& e) : seq_len_(e.train.seq_len), seed_(uint64_t(e.seed)) {
  masking_.prob = e.task.mask_prob;
  masking_.replace = e.task.mask_replace;
  masking_.random = e.task.mask_random;
  masking_.whole_word = e.task.whole_word;
  objective_ = e.task.sentence_objective;
  sentence_weight_ = e.task.sentence_weight;
}

PairSplit MaskedLmTask::read_split(const Experiment& e, const std::string& split, const Tokenizer& tokenizer) const {
  auto encode = [&](const std::string& text) { return tokenizer.encode(text); };
  if (reads_corpus(e.task.kind, e.data.format, e.data.columns.text)) {
    // The prepared corpus's documents (lines, paragraphs, files) packed into sequences through
    // its document index, read from the shards batch by batch.
    return PairSplit(open_corpus(e.data, e.seed, split, tokenizer, corpus_defaults()), seq_len_);
  }
  const std::string& path = split == "train" ? e.data.train.single() : split == "test" ? e.data.test.single() : e.data.valid.single();
  std::vector<TextPair> out;
  for (const auto& ex : read_examples(path, e.data, e.task, /*require_labels=*/false).examples) {
    out.push_back({encode(ex.text), ex.text_b.empty() ? std::vector<int>{} : encode(ex.text_b)});
  }
  return PairSplit(std::move(out));
}

void MaskedLmTask::prepare(const Experiment& e, const Tokenizer& tokenizer, bool need_train) {
  const SpecialTokens& s = tokenizer.special();
  if (s.mask < 0 || s.cls < 0 || s.sep < 0) {
    throw InputError(fmt::format("{}: tokenizer.model: has no <mask>, <cls> or <sep> piece; masked_lm needs a tokenizer "
                                 "trained by qkv (remove the file to train one)",
                                 e.source_file));
  }
  mask_id_ = s.mask;
  special_ = s;
  pad_id_ = s.pad;
  const int vocab = tokenizer.vocab_size();
  word_start_.assign(size_t(vocab), false);
  is_special_.assign(size_t(vocab), false);
  for (int id = 0; id < vocab; ++id) word_start_[size_t(id)] = tokenizer.piece(id).rfind("\xE2\x96\x81", 0) == 0;  // '▁'
  for (int id : {s.pad, s.unk, s.bos, s.eos, s.mask, s.cls, s.sep})
    if (id >= 0) is_special_[size_t(id)] = true;
  if (need_train) {
    sequences_[int(Split::kTrain)] = read_split(e, "train", tokenizer);
    order_ = EpochOrder(int64_t(sequences_[int(Split::kTrain)].size()), seed_);
    if (objective_ != SentenceObjective::kNone && !sequences_[int(Split::kTrain)].has_pairs()) {
      throw InputError(fmt::format("{}: task.sentence_objective: {} holds no sentence pairs (a single-sentence format, or "
                                   "lines longer than half of train.seq_len); set it to none",
                                   e.data.train.joined(), choice_name(sentence_objective_choices(), objective_)));
    }
  }
  const bool corpus = reads_corpus(e.task.kind, e.data.format, e.data.columns.text);
  if (corpus ? corpus_has_split(e.data, "valid") : !e.data.valid.empty()) sequences_[int(Split::kValid)] = read_split(e, "valid", tokenizer);
  if (!e.data.test.empty()) sequences_[int(Split::kTest)] = read_split(e, "test", tokenizer);
}

TaskBatch MaskedLmTask::make_batch(const std::vector<size_t>& rows, const PairSplit& split,
                                   std::mt19937_64& rng) const {
  std::vector<EncodedInput> inputs;
  std::vector<int64_t> labels;
  for (size_t row : rows) {
    TextPair pair;
    labels.push_back(sentence_pair(row, split, objective_, rng, pair));
    inputs.push_back(encode_input(Family::kBert, std::move(pair.a), std::move(pair.b), special_, seq_len_));
  }
  std::vector<const EncodedInput*> pointers;
  for (const auto& input : inputs) pointers.push_back(&input);
  const PaddedBatch padded = pad_batch(pointers, pad_id_);
  TaskBatch batch;
  std::tie(batch.tokens, batch.targets) =
      mask_tokens(padded.tokens, padded.keep, word_start_, is_special_, mask_id_, masking_, rng);
  batch.keep = padded.keep;
  batch.segments = padded.segments;
  if (objective_ != SentenceObjective::kNone) batch.labels = torch::tensor(labels, torch::kLong);
  batch.tokens_count = padded.real_tokens;
  return to_compute_device(std::move(batch));
}

TaskBatch MaskedLmTask::train_batch(int64_t index, int64_t batch_size) {
  std::vector<size_t> rows;
  for (int64_t r = 0; r < batch_size; ++r) rows.push_back(size_t(order_.at(index * batch_size + r)));
  std::mt19937_64 rng(mix(seed_ ^ mix(uint64_t(index))));
  return make_batch(rows, sequences_[int(Split::kTrain)], rng);
}

namespace {

// Logits (N, V) at the selected positions and their targets (N).
std::pair<torch::Tensor, torch::Tensor> selected_logits(Model& model, const TaskBatch& batch, const torch::Tensor& hidden) {
  const auto selected = batch.targets.ne(kIgnore);                  // (B, T)
  auto logits = model->token_logits(hidden.index({selected}));      // (N, V): the head on selected rows only
  return {logits.to(torch::kFloat32), batch.targets.index({selected})};
}

}  // namespace

std::vector<double> MaskedLmTask::loss_counts(const TaskBatch& batch) const {
  if (objective_ == SentenceObjective::kNone || sentence_weight_ == 0) return {counted_targets(batch.targets)};
  return {counted_targets(batch.targets), counted_targets(batch.labels)};
}

torch::Tensor MaskedLmTask::loss(Model& model, const TaskBatch& batch, const std::vector<double>& divisors) {
  auto hidden = model->hidden(batch.tokens, batch.keep, batch.segments);  // (B, T, C)
  const auto selected = batch.targets.ne(kIgnore);                        // the head on selected rows only
  auto loss = model->token_loss(hidden.index({selected}), batch.targets.index({selected}), kIgnore, 0.0,
                                divisor_of(divisors, 0));
  if (objective_ == SentenceObjective::kNone || sentence_weight_ == 0) return loss;
  // Over the rows that have a label; rows without a b (kIgnore) count for nothing.
  auto sentence = torch::nn::functional::cross_entropy(
      model->sentence_logits(hidden, batch.keep).to(torch::kFloat32), batch.labels,
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnore).reduction(torch::kSum));
  return loss + sentence_weight_ * sentence / divisor_of(divisors, 1);
}

Metrics MaskedLmTask::evaluate(Model& model, Split split, int64_t batch_size, int64_t max_batches) {
  torch::NoGradGuard no_grad;
  const auto& sequences = sequences_[int(split)];
  TORCH_CHECK(!sequences.empty(), "no ", split_name(split), " split in this experiment");
  std::mt19937_64 rng(mix(seed_ ^ mix(0xE7A1ULL + uint64_t(split))));  // the same masks at every evaluation
  double loss_sum = 0, sentence_sum = 0;
  int64_t count = 0, right = 0, batches = 0, pairs = 0, pairs_right = 0;
  auto sum = torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum);
  for (size_t first = 0; first < sequences.size(); first += size_t(batch_size), ++batches) {
    if (max_batches > 0 && batches >= max_batches) break;
    std::vector<size_t> rows;
    for (size_t i = first; i < std::min(sequences.size(), first + size_t(batch_size)); ++i) rows.push_back(i);
    const TaskBatch batch = make_batch(rows, sequences, rng);
    auto hidden = model->hidden(batch.tokens, batch.keep, batch.segments);  // (B, T, C)
    if (objective_ != SentenceObjective::kNone) {
      const auto labelled = batch.labels.ne(kIgnore);
      if (labelled.any().item<bool>()) {
        auto logits = model->sentence_logits(hidden, batch.keep).to(torch::kFloat32).index({labelled});
        auto labels = batch.labels.index({labelled});
        sentence_sum += torch::nn::functional::cross_entropy(logits, labels, sum).item<double>();
        pairs_right += logits.argmax(-1).eq(labels).sum().item<int64_t>();
        pairs += labels.numel();
      }
    }
    auto [logits, targets] = selected_logits(model, batch, hidden);
    if (targets.numel() == 0) continue;
    loss_sum += torch::nn::functional::cross_entropy(logits, targets, sum).item<double>();
    right += logits.argmax(-1).eq(targets).sum().item<int64_t>();
    count += targets.numel();
  }
  const double loss = loss_sum / double(std::max<int64_t>(count, 1));
  Metrics metrics{{"loss", loss}, {"ppl", std::exp(loss)}, {"accuracy", double(right) / double(std::max<int64_t>(count, 1))}};
  if (objective_ != SentenceObjective::kNone) {
    metrics.push_back({"sentence_loss", sentence_sum / double(std::max<int64_t>(pairs, 1))});
    metrics.push_back({"sentence_accuracy", double(pairs_right) / double(std::max<int64_t>(pairs, 1))});
  }
  metrics.push_back({"tokens", double(count)});
  return metrics;
}

}  // namespace qkv
