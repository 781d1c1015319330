// Translation task.
#include "transformer/tasks/translate.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include <fmt/format.h>

#include "transformer/core/device.h"
#include "transformer/util/errors.h"
#include "transformer/eval/bleu.h"

namespace qkv {

namespace F = torch::nn::functional;

torch::Tensor pad_rows(const std::vector<const std::vector<int64_t>*>& rows, int64_t pad, torch::Tensor* keep) {
  int64_t longest = 1;
  for (const auto* r : rows) longest = std::max<int64_t>(longest, int64_t(r->size()));
  auto out = torch::full({int64_t(rows.size()), longest}, pad, torch::kLong);
  auto mask = torch::zeros({int64_t(rows.size()), longest}, torch::kBool);
  auto o = out.accessor<int64_t, 2>();
  auto m = mask.accessor<bool, 2>();
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < rows[i]->size(); ++j) o[int64_t(i)][int64_t(j)] = (*rows[i])[j], m[int64_t(i)][int64_t(j)] = true;
  if (keep) *keep = mask;
  return out;
}

std::vector<std::vector<int64_t>> length_batches(const std::vector<std::pair<int64_t, int64_t>>& lengths, int64_t batch_tokens,
                                                 uint64_t seed) {
  // Sort by length (ties broken by a seeded shuffle), then cut into batches of about batch_tokens
  // tokens, counting padding: a row takes max(target + 1, source) positions.
  std::vector<int64_t> order(lengths.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + 17);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[size_t(rng() % i)]);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return lengths[size_t(a)] < lengths[size_t(b)]; });
  std::vector<std::vector<int64_t>> batches;
  std::vector<int64_t> current;
  int64_t longest = 0;
  for (int64_t i : order) {
    const int64_t width = std::max(lengths[size_t(i)].first + 1, lengths[size_t(i)].second);
    if (!current.empty() && std::max(longest, width) * int64_t(current.size() + 1) > batch_tokens) {
      batches.push_back(current);
      current.clear();
      longest = 0;
    }
    current.push_back(i);
    longest = std::max(longest, width);
  }
  if (!current.empty()) batches.push_back(current);
  return batches;
}

TranslateTask::TranslateTask(const Experiment& e) : experiment_(e) {
  search_.beam = e.task.beam;
  search_.length_penalty = e.task.length_penalty;
  search_.max_len_a = e.task.max_len_a;
  search_.max_len_b = e.task.max_len_b;
}

void TranslateTask::attach(const Tokenizer& tokenizer) { tokenizer_ = tokenizer; }

TranslateTask::Encoded TranslateTask::encode(const SentencePair& pair) const {
  Encoded out;
  for (int id : tokenizer_.encode(pair.source)) out.source.push_back(id);
  out.source.push_back(tokenizer_.special().eos);
  for (int id : tokenizer_.target().encode(pair.target)) out.target.push_back(id);
  out.reference = pair.target;
  return out;
}

void TranslateTask::prepare(const Experiment& e, const Tokenizer& tokenizer, bool need_train) {
  attach(tokenizer);
  const int64_t max_len = e.train.seq_len;
  auto load = [&](Split split, const std::string& path) {
    if (path.empty()) return;
    std::string dropped;
    auto pairs = read_pairs(path, e.data, e.task, &dropped);
    if (!dropped.empty()) fmt::print(stderr, "{}: dropped {}\n", path, dropped);
    if (split == Split::kTrain && e.data.train_examples > 0) {
      if (e.data.train_examples > int64_t(pairs.size())) {
        throw InputError(fmt::format("{}: data.train_examples: asks for {} pairs, but {} holds {}", e.source_file,
                                     e.data.train_examples, path, pairs.size()));
      }
      std::vector<SentencePair> subset;
      for (int64_t i : fixed_subset(int64_t(pairs.size()), e.data.train_examples)) subset.push_back(std::move(pairs[size_t(i)]));
      pairs = std::move(subset);
    }
    auto& out = splits_[int(split)];
    out.clear();
    for (const auto& pair : pairs) {
      Encoded enc = encode(pair);
      if (split == Split::kTrain) {
        // Training skips pairs longer than train.seq_len on either side (counted); evaluation
        // keeps every sentence, its source cut to the model's positions.
        if (int64_t(enc.source.size()) > max_len || int64_t(enc.target.size()) + 1 > max_len) {
          ++dropped_long_;
          continue;
        }
      } else if (int64_t(enc.source.size()) > max_len) {
        enc.source.resize(size_t(max_len));
        enc.source.back() = tokenizer.special().eos;
      }
      out.push_back(std::move(enc));
    }
  };
  if (need_train) {
    load(Split::kTrain, e.data.train.single());
    const auto& train = splits_[int(Split::kTrain)];
    if (train.empty()) throw InputError(fmt::format("{}: no training pair fits train.seq_len = {}", e.data.train.single(), max_len));
    if (dropped_long_ > 0) fmt::print(stderr, "{}: {} pairs longer than train.seq_len = {} left out\n", e.data.train.single(), dropped_long_, max_len);
    if (e.train.batch_tokens > 0) {
      std::vector<std::pair<int64_t, int64_t>> lengths;
      for (const auto& ex : train) lengths.emplace_back(int64_t(ex.target.size()), int64_t(ex.source.size()));
      batches_ = length_batches(lengths, e.train.batch_tokens, uint64_t(e.seed));
      order_ = EpochOrder(int64_t(batches_.size()), uint64_t(e.seed));
    } else {
      order_ = EpochOrder(int64_t(train.size()), uint64_t(e.seed));
    }
  }
  load(Split::kValid, e.data.valid.single());
  load(Split::kTest, e.data.test.single());
}

TaskBatch seq2seq_batch(const std::vector<const std::vector<int64_t>*>& sources,
                        const std::vector<const std::vector<int64_t>*>& targets, const SpecialTokens& source_special,
                        const SpecialTokens& target_special) {
  std::vector<std::vector<int64_t>> inputs, outputs;
  for (const auto* target : targets) {
    std::vector<int64_t> in{target_special.bos}, out = *target;
    in.insert(in.end(), target->begin(), target->end());
    out.push_back(target_special.eos);
    inputs.push_back(std::move(in));
    outputs.push_back(std::move(out));
  }
  std::vector<const std::vector<int64_t>*> in_rows, out_rows;
  for (size_t i = 0; i < targets.size(); ++i) in_rows.push_back(&inputs[i]), out_rows.push_back(&outputs[i]);
  TaskBatch batch;
  batch.source = pad_rows(sources, source_special.pad, &batch.source_keep);
  batch.tokens = pad_rows(in_rows, target_special.pad, nullptr);
  torch::Tensor target_keep;
  batch.targets = pad_rows(out_rows, target_special.pad, &target_keep).masked_fill(target_keep.logical_not(), kIgnore);
  batch.tokens_count = batch.source_keep.sum().item<int64_t>() + target_keep.sum().item<int64_t>();
  return to_compute_device(std::move(batch));
}

std::vector<int64_t> batch_members(const std::vector<std::vector<int64_t>>& batches, EpochOrder& order, int64_t index,
                                   int64_t batch_size) {
  if (!batches.empty()) return batches[size_t(order.at(index))];
  std::vector<int64_t> members;
  for (int64_t r = 0; r < batch_size; ++r) members.push_back(order.at(index * batch_size + r));
  return members;
}

TaskBatch TranslateTask::make_batch(const std::vector<const Encoded*>& examples) const {
  std::vector<const std::vector<int64_t>*> sources, targets;
  for (const auto* ex : examples) sources.push_back(&ex->source), targets.push_back(&ex->target);
  return seq2seq_batch(sources, targets, tokenizer_.special(), tokenizer_.target().special());
}

TaskBatch TranslateTask::train_batch(int64_t index, int64_t batch_size) {
  const auto& train = splits_[int(Split::kTrain)];
  std::vector<const Encoded*> examples;
  for (int64_t i : batch_members(batches_, order_, index, batch_size)) examples.push_back(&train[size_t(i)]);
  return make_batch(examples);
}

torch::Tensor teacher_forced_logits(Model& model, const TaskBatch& batch) {
  DecodeState state;
  state.incremental = false;
  model->encode(batch.source, batch.source_keep, &state);
  return model->token_logits(model->hidden(batch.tokens, {}, {}, &state)).to(torch::kFloat32);  // (B, T, V)
}

torch::Tensor seq2seq_loss(Model& model, const TaskBatch& batch, double label_smoothing, double divisor) {
  DecodeState state;
  state.incremental = false;
  model->encode(batch.source, batch.source_keep, &state);
  return model->token_loss(model->hidden(batch.tokens, {}, {}, &state), batch.targets, kIgnore, label_smoothing, divisor);
}

torch::Tensor TranslateTask::loss(Model& model, const TaskBatch& batch, const std::vector<double>& divisors) {
  return seq2seq_loss(model, batch, experiment_.task.label_smoothing, divisor_of(divisors, 0));
}

torch::Tensor TranslateTask::encode_sources(const std::vector<std::string>& sources, torch::Tensor* keep) const {
  std::vector<std::vector<int64_t>> ids;
  const int64_t max_len = experiment_.train.seq_len;
  for (const auto& text : sources) {
    std::vector<int64_t> row;
    for (int id : tokenizer_.encode(text)) row.push_back(id);
    if (int64_t(row.size()) > max_len - 1) row.resize(size_t(max_len - 1));
    row.push_back(tokenizer_.special().eos);
    ids.push_back(std::move(row));
  }
  std::vector<const std::vector<int64_t>*> rows;
  for (const auto& r : ids) rows.push_back(&r);
  return pad_rows(rows, tokenizer_.special().pad, keep);
}

std::vector<std::string> TranslateTask::translate(Model& model, const std::vector<std::string>& sources,
                                                  int64_t batch_size, const SearchOptions& options) const {
  std::vector<std::string> out;
  const Tokenizer& target = tokenizer_.target();
  for (size_t first = 0; first < sources.size(); first += size_t(batch_size)) {
    const std::vector<std::string> chunk(sources.begin() + long(first),
                                         sources.begin() + long(std::min(sources.size(), first + size_t(batch_size))));
    torch::Tensor keep;
    const auto source = encode_sources(chunk, &keep).to(compute_device());
    if (keep.defined()) keep = keep.to(compute_device());
    const auto hyps = options.beam > 1 ? beam_search(model, source, keep, target.special().bos, target.special().eos, options)
                                       : greedy_search(model, source, keep, target.special().bos, target.special().eos, options);
    for (const auto& h : hyps) {
      std::vector<int> ids;
      for (int64_t id : h.tokens)
        if (id != target.special().eos) ids.push_back(int(id));
      out.push_back(target.decode(ids));
    }
  }
  return out;
}

Metrics TranslateTask::evaluate(Model& model, Split split, int64_t batch_size, int64_t max_batches) {
  torch::NoGradGuard no_grad;
  const auto& examples = splits_[int(split)];
  TORCH_CHECK(!examples.empty(), "no ", split_name(split), " split in this experiment");
  double loss_sum = 0;
  int64_t tokens = 0, batches = 0;
  std::vector<std::string> hypotheses, references;
  for (size_t first = 0; first < examples.size(); first += size_t(batch_size), ++batches) {
    if (max_batches > 0 && batches >= max_batches) break;
    std::vector<const Encoded*> chunk;
    for (size_t i = first; i < std::min(examples.size(), first + size_t(batch_size)); ++i) chunk.push_back(&examples[i]);
    const TaskBatch batch = make_batch(chunk);
    const auto logits = teacher_forced_logits(model, batch);
    loss_sum += F::cross_entropy(logits.reshape({-1, logits.size(-1)}), batch.targets.reshape({-1}),
                                 F::CrossEntropyFuncOptions().ignore_index(kIgnore).reduction(torch::kSum))
                    .item<double>();
    tokens += batch.targets.ne(kIgnore).sum().item<int64_t>();
    const Tokenizer& target = tokenizer_.target();
    const auto hyps = search_.beam > 1 ? beam_search(model, batch.source, batch.source_keep, target.special().bos, target.special().eos, search_)
                                       : greedy_search(model, batch.source, batch.source_keep, target.special().bos, target.special().eos, search_);
    for (size_t i = 0; i < hyps.size(); ++i) {
      std::vector<int> ids;
      for (int64_t id : hyps[i].tokens)
        if (id != target.special().eos) ids.push_back(int(id));
      hypotheses.push_back(target.decode(ids));
      references.push_back(chunk[i]->reference);
    }
  }
  const double loss = loss_sum / double(std::max<int64_t>(tokens, 1));
  BleuOptions bleu_options;
  bleu_options.tokenize = choice_name(bleu_tokenize_choices(), experiment_.task.bleu_tokenize);
  return {{"loss", loss},
          {"ppl", std::exp(loss)},
          {"bleu", sacrebleu_bleu(hypotheses, {references}, bleu_options).score},
          {"chrf", corpus_chrf(hypotheses, references)},
          {"sentences", double(hypotheses.size())}};
}

}  // namespace qkv
