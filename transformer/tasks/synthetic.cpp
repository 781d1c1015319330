// Copy, reverse and addition with generated examples.
#include "transformer/tasks/synthetic.h"

#include <ATen/CPUGeneratorImpl.h>

#include <fmt/format.h>

#include "transformer/util/errors.h"
#include "transformer/util/random.h"

namespace qkv {

namespace {

// Special token ids every qkv vocabulary shares (see text/tokenizer.h); symbols start at 7.
constexpr int64_t kBos = 2, kEos = 3, kMask = 4, kCls = 5, kSep = 6, kFirstSymbol = 7;
constexpr int64_t kPlus = 10;  // addition: '+' follows the ten digits

at::Generator stream(uint64_t seed, uint64_t a, uint64_t b) {
  return at::detail::createCPUGenerator(mix(mix(mix(seed) ^ a) ^ b));
}

torch::Tensor column(int64_t rows, int64_t value) { return torch::full({rows, 1}, value, torch::kLong); }

torch::Tensor synthetic_logits(Model& model, const TaskBatch& batch) {
  if (model->config().family == Family::kSeq2Seq) {
    DecodeState state;
    state.incremental = false;
    model->encode(batch.source, {}, &state);
    return model->token_logits(model->hidden(batch.tokens, {}, {}, &state));
  }
  return model->token_logits(model->hidden(batch.tokens));
}

}  // namespace

std::string SyntheticTask::alphabet(const TaskConfig& task) {
  if (is_addition(task.kind)) return "0123456789+";
  if (task.kind == TaskKind::kParity) return "01";
  static const std::string symbols = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  return symbols.substr(0, size_t(task.symbols));
}

SyntheticTask::SyntheticTask(const Experiment& e)
    : config_(e.task), family_(e.model.family), seed_(uint64_t(e.seed)), eval_lengths_(e.task.eval_lengths) {
  if (eval_lengths_.empty()) eval_lengths_ = {config_.max_length, 2 * config_.max_length};
}

TaskBatch SyntheticTask::make_batch(int64_t n, int64_t batch_size, at::Generator& generator) const {
  const int64_t rows = batch_size;
  const int64_t k = is_addition(config_.kind) ? 10 : config_.kind == TaskKind::kParity ? 2 : config_.symbols;
  auto x = torch::randint(k, {rows, n}, generator, torch::kLong);
  torch::Tensor input, answer;  // symbol indices (B, Lin), (B, Lout)
  switch (config_.kind) {
    case TaskKind::kCopy:
      input = answer = x;
      break;
    case TaskKind::kReverse:
      input = x;
      answer = x.flip({1});
      break;
    case TaskKind::kDuplicate:
      input = x;
      answer = torch::cat({x, x}, 1);
      break;
    case TaskKind::kSort:
      input = x;
      answer = std::get<0>(x.sort(1));
      break;
    case TaskKind::kParity:
      input = x;
      answer = torch::remainder(x.sum(1, /*keepdim=*/true), 2);
      break;
    case TaskKind::kAddition:
    case TaskKind::kAdditionReversed: {
      auto y = torch::randint(10, {rows, n}, generator, torch::kLong);
      answer = torch::zeros({rows, n + 1}, torch::kLong);
      auto carry = torch::zeros({rows}, torch::kLong);
      for (int64_t i = n - 1; i >= 0; --i) {  // schoolbook, least significant digit first
        auto s = x.select(1, i) + y.select(1, i) + carry;
        answer.select(1, i + 1).copy_(torch::remainder(s, 10));
        carry = torch::div(s, 10, "floor");
      }
      answer.select(1, 0).copy_(carry);
      input = torch::cat({x, column(rows, kPlus), y}, 1);
      if (config_.kind == TaskKind::kAdditionReversed) {  // every number least significant digit first
        input = torch::cat({x.flip({1}), column(rows, kPlus), y.flip({1})}, 1);
        answer = answer.flip({1});
      }
      break;
    }
    default:
      TORCH_CHECK(false, "not a synthetic task");
  }
  input = input + kFirstSymbol;
  answer = answer + kFirstSymbol;
  const int64_t in_len = input.size(1), out_len = answer.size(1);
  TaskBatch batch;
  switch (family_) {
    case Family::kGpt: {
      auto seq = torch::cat({column(rows, kBos), input, column(rows, kSep), answer, column(rows, kEos)}, 1);
      const int64_t t = seq.size(1) - 1;
      batch.tokens = seq.narrow(1, 0, t);
      batch.targets = seq.narrow(1, 1, t).clone();
      batch.targets.narrow(1, 0, in_len + 1).fill_(kIgnore);  // the input and the separator are given
      break;
    }
    case Family::kBert:
      batch.tokens = torch::cat({column(rows, kCls), input, column(rows, kSep), torch::full({rows, out_len}, kMask, torch::kLong)}, 1);
      batch.targets = torch::cat({torch::full({rows, in_len + 2}, kIgnore, torch::kLong), answer}, 1);
      break;
    case Family::kSeq2Seq:
    case Family::kRnn:  // not allowed for these tasks by the configuration; laid out as seq2seq
      batch.source = torch::cat({input, column(rows, kEos)}, 1);
      batch.tokens = torch::cat({column(rows, kBos), answer}, 1);
      batch.targets = torch::cat({answer, column(rows, kEos)}, 1);
      break;
  }
  batch.tokens_count = batch.tokens.numel() + (batch.source.defined() ? batch.source.numel() : 0);
  return to_compute_device(std::move(batch));
}

TaskBatch SyntheticTask::train_batch(int64_t index, int64_t batch_size) {
  // Batch `index` is a pure function of (seed, index): one length per batch, so no padding.
  auto generator = stream(seed_, 0, uint64_t(index));
  const int64_t span = config_.max_length - config_.min_length + 1;
  const int64_t n = config_.min_length + torch::randint(span, {1}, generator, torch::kLong).item<int64_t>();
  return make_batch(n, batch_size, generator);
}

torch::Tensor SyntheticTask::loss(Model& model, const TaskBatch& batch, const std::vector<double>& divisors) {
  const double divisor = divisor_of(divisors, 0);
  if (model->config().family == Family::kSeq2Seq) {
    DecodeState state;
    state.incremental = false;
    model->encode(batch.source, {}, &state);
    return model->token_loss(model->hidden(batch.tokens, {}, {}, &state), batch.targets, kIgnore, 0.0, divisor);
  }
  return model->token_loss(model->hidden(batch.tokens), batch.targets, kIgnore, 0.0, divisor);
}

SyntheticScores score_batch(const torch::Tensor& logits, const torch::Tensor& targets) {
  const auto counted = targets.ne(kIgnore);
  const auto hit = logits.argmax(-1).eq(targets).logical_and(counted);
  SyntheticScores scores;
  scores.exact = hit.logical_or(counted.logical_not()).all(1);
  scores.correct_tokens = hit.sum().item<int64_t>();
  scores.counted_tokens = counted.sum().item<int64_t>();
  return scores;
}

Metrics SyntheticTask::evaluate(Model& model, Split split, int64_t batch_size, int64_t max_batches) {
  torch::NoGradGuard no_grad;
  const int64_t limit = model->max_positions();
  double in_loss = 0, in_exact = 0, all_loss = 0, all_exact = 0;
  int64_t in_lengths = 0, all_lengths = 0;
  Metrics per_length;
  for (const int64_t n : eval_lengths_) {
    if (limit >= 0 && synthetic_positions(config_.kind, family_, n) > limit) continue;  // not applicable
    auto generator = stream(seed_, 1 + uint64_t(split), uint64_t(n));  // valid and test differ from training
    double loss_sum = 0;
    int64_t examples = 0, exact = 0, correct = 0, counted = 0;
    for (int64_t batches = 0; examples < config_.eval_examples; ++batches) {
      if (max_batches > 0 && batches >= max_batches) break;
      const int64_t rows = std::min(batch_size, config_.eval_examples - examples);
      const TaskBatch batch = make_batch(n, rows, generator);
      auto logits = synthetic_logits(model, batch).to(torch::kFloat32);
      const auto scores = score_batch(logits, batch.targets);
      loss_sum += torch::nn::functional::cross_entropy(
                      logits.reshape({-1, logits.size(-1)}), batch.targets.reshape({-1}),
                      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnore).reduction(torch::kSum))
                      .item<double>();
      exact += scores.exact.sum().item<int64_t>();
      correct += scores.correct_tokens;
      counted += scores.counted_tokens;
      examples += rows;
    }
    const double loss = loss_sum / double(std::max<int64_t>(counted, 1));
    const double exact_rate = double(exact) / double(std::max<int64_t>(examples, 1));
    per_length.emplace_back(fmt::format("exact@{}", n), exact_rate);
    per_length.emplace_back(fmt::format("token_acc@{}", n), double(correct) / double(std::max<int64_t>(counted, 1)));
    all_loss += loss, all_exact += exact_rate, ++all_lengths;
    if (n >= config_.min_length && n <= config_.max_length) in_loss += loss, in_exact += exact_rate, ++in_lengths;
  }
  if (all_lengths == 0) {
    throw InputError(fmt::format("task.eval_lengths: no length fits the model's {} positions (model.max_len)", limit));
  }
  Metrics metrics;
  if (in_lengths > 0) {
    metrics = {{"loss", in_loss / double(in_lengths)}, {"exact", in_exact / double(in_lengths)}};
  } else {
    metrics = {{"loss", all_loss / double(all_lengths)}, {"exact", all_exact / double(all_lengths)}};
  }
  metrics.insert(metrics.end(), per_length.begin(), per_length.end());
  return metrics;
}

}  // namespace qkv
