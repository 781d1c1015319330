// Classification, sentence-pair and multiple-choice tasks.
#include "transformer/tasks/classify.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "transformer/util/errors.h"
#include "transformer/eval/metrics.h"

namespace qkv {

namespace F = torch::nn::functional;

ClassifyTask::ClassifyTask(const Experiment& e)
    : experiment_(e), family_(e.model.family), kind_(e.task.kind), regression_(e.task.regression) {
  if (!e.task.positive.empty()) {
    positive_ = int64_t(std::find(e.task.labels.begin(), e.task.labels.end(), e.task.positive) - e.task.labels.begin());
  }
  const DataFormat f = e.data.format;
  const bool unordered = e.task.regression || f == DataFormat::kGlueMrpc || f == DataFormat::kGlueQqp || f == DataFormat::kGlueStsb;
  both_orders_ = kind_ == TaskKind::kPair && family_ == Family::kGpt &&
                 (e.task.pair_order == PairOrder::kBoth || (e.task.pair_order == PairOrder::kAuto && unordered));
}

EncodedExample ClassifyTask::encode(const Example& ex) const {
  const SpecialTokens& s = tokenizer_.special();
  const int64_t max_len = experiment_.train.seq_len;
  auto ids = [&](const std::string& text) { return tokenizer_.encode(text); };
  EncodedExample out;
  out.label = ex.label;
  out.score = std::isfinite(ex.score) ? float(ex.score) : 0.0f;
  if (kind_ == TaskKind::kChoice) {
    const auto context = ids(ex.text);
    for (const auto& candidate : ex.choices) out.rows.push_back(encode_input(family_, context, ids(candidate), s, max_len));
  } else if (kind_ == TaskKind::kPair) {
    out.rows.push_back(encode_input(family_, ids(ex.text), ids(ex.text_b), s, max_len));
    // A similarity or a paraphrase has no order: a decoder reads both and sums them (GPT-1, 3.3).
    if (both_orders_) out.rows.push_back(encode_input(family_, ids(ex.text_b), ids(ex.text), s, max_len));
  } else {
    out.rows.push_back(encode_input(family_, ids(ex.text), {}, s, max_len));
  }
  return out;
}

void ClassifyTask::attach(const Tokenizer& tokenizer) {
  const SpecialTokens& s = tokenizer.special();
  if (s.cls < 0 || s.sep < 0) {
    throw InputError(fmt::format("{}: tokenizer.model: has no <cls> or <sep> piece; {} needs a tokenizer trained by qkv",
                                 experiment_.source_file, choice_name(task_choices(), kind_)));
  }
  tokenizer_ = tokenizer;
}

void ClassifyTask::prepare(const Experiment& e, const Tokenizer& tokenizer, bool need_train) {
  attach(tokenizer);
  auto load = [&](Split split, const std::string& path) {
    if (path.empty()) return;
    const ExampleFile file = read_examples(path, e.data, e.task, /*require_labels=*/true);
    if (!file.dropped.empty()) fmt::print(stderr, "{}: dropped {}\n", path, file.dropped);
    auto& out = examples_[int(split)];
    out.clear();
    for (const auto& ex : file.examples) out.push_back(encode(ex));
  };
  if (need_train) {
    load(Split::kTrain, e.data.train.single());
    auto& train = examples_[int(Split::kTrain)];
    if (e.data.train_examples > int64_t(train.size())) {
      throw InputError(fmt::format("{}: data.train_examples: asks for {} examples, but {} holds {}", e.source_file,
                                   e.data.train_examples, e.data.train.single(), train.size()));
    }
    if (e.data.train_examples > 0) {
      std::vector<EncodedExample> subset;
      for (int64_t i : fixed_subset(int64_t(train.size()), e.data.train_examples)) subset.push_back(std::move(train[size_t(i)]));
      train = std::move(subset);
    }
    order_ = EpochOrder(int64_t(examples_[int(Split::kTrain)].size()), uint64_t(e.seed));
  }
  load(Split::kValid, e.data.valid.single());
  load(Split::kTest, e.data.test.single());
}

TaskBatch ClassifyTask::make_batch(const std::vector<const EncodedExample*>& examples) const {
  int64_t group = 1;
  for (const auto* ex : examples) group = std::max<int64_t>(group, int64_t(ex->rows.size()));
  const int64_t b = int64_t(examples.size());
  std::vector<const EncodedInput*> rows;
  TaskBatch batch;
  batch.group = group;
  batch.choice_keep = torch::zeros({b, group}, torch::kBool);
  for (int64_t i = 0; i < b; ++i) {
    const auto& ex = *examples[size_t(i)];
    for (int64_t k = 0; k < group; ++k) {
      const bool real = k < int64_t(ex.rows.size());
      rows.push_back(&ex.rows[size_t(real ? k : int64_t(ex.rows.size()) - 1)]);  // a stand-in, masked below
      batch.choice_keep[i][k] = real;
    }
  }
  const PaddedBatch padded = pad_batch(rows, tokenizer_.special().pad);
  batch.tokens = padded.tokens;
  batch.keep = padded.keep;
  if (family_ == Family::kBert) batch.segments = padded.segments;
  batch.tokens_count = padded.real_tokens;
  if (regression_) {
    batch.labels = torch::empty({b}, torch::kFloat32);
    for (int64_t i = 0; i < b; ++i) batch.labels[i] = examples[size_t(i)]->score;
  } else {
    batch.labels = torch::empty({b}, torch::kLong);
    for (int64_t i = 0; i < b; ++i) batch.labels[i] = examples[size_t(i)]->label;
  }
  return to_compute_device(std::move(batch));
}

TaskBatch ClassifyTask::train_batch(int64_t index, int64_t batch_size) {
  std::vector<const EncodedExample*> examples;
  const auto& train = examples_[int(Split::kTrain)];
  for (int64_t r = 0; r < batch_size; ++r) examples.push_back(&train[size_t(order_.at(index * batch_size + r))]);
  return make_batch(examples);
}

torch::Tensor ClassifyTask::forward(Model& model, const TaskBatch& batch, torch::Tensor* hidden_out) const {
  auto hidden = model->hidden(batch.tokens, batch.keep, batch.segments);  // (R, T, C)
  if (hidden_out) *hidden_out = hidden;
  auto pooled = model->pool(hidden, batch.keep);  // (R, C)
  const int64_t b = batch.labels.size(0);
  if (kind_ == TaskKind::kChoice) {
    auto scores = model->classify(pooled).to(torch::kFloat32).view({b, batch.group});  // (B, K)
    return scores.masked_fill(batch.choice_keep.logical_not(), -1e9);
  }
  if (batch.group > 1) pooled = pooled.view({b, batch.group, pooled.size(-1)}).sum(1);  // both orders, (B, C)
  auto out = model->classify(pooled).to(torch::kFloat32);  // (B, N)
  return regression_ ? out.squeeze(-1) : out;
}

torch::Tensor ClassifyTask::head_loss_sum(const torch::Tensor& outputs, const TaskBatch& batch) const {
  if (regression_) return F::mse_loss(outputs, batch.labels, F::MSELossFuncOptions().reduction(torch::kSum));
  return F::cross_entropy(outputs, batch.labels, F::CrossEntropyFuncOptions().reduction(torch::kSum));
}

namespace {

// GPT-1's auxiliary objective's targets: each real input token predicts the next (R, T-1).
torch::Tensor lm_targets(const TaskBatch& batch) {
  const int64_t t = batch.tokens.size(1);
  return batch.tokens.narrow(1, 1, t - 1).masked_fill(batch.keep.narrow(1, 1, t - 1).logical_not(), kIgnore);
}

}  // namespace

std::vector<double> ClassifyTask::loss_counts(const TaskBatch& batch) const {
  const double examples = double(batch.labels.size(0));
  if (experiment_.task.lm_weight == 0) return {examples};
  return {examples, counted_targets(lm_targets(batch))};
}

torch::Tensor ClassifyTask::loss(Model& model, const TaskBatch& batch, const std::vector<double>& divisors) {
  torch::Tensor hidden;
  const double lm_weight = experiment_.task.lm_weight;
  auto outputs = forward(model, batch, lm_weight > 0 ? &hidden : nullptr);
  auto loss = head_loss_sum(outputs, batch) / divisor_of(divisors, 0);
  if (lm_weight > 0) {
    const int64_t t = batch.tokens.size(1);
    auto logits = model->token_logits(hidden.narrow(1, 0, t - 1)).to(torch::kFloat32);  // (R, T-1, V)
    auto lm = F::cross_entropy(logits.reshape({-1, logits.size(-1)}), lm_targets(batch).reshape({-1}),
                               F::CrossEntropyFuncOptions().ignore_index(kIgnore).reduction(torch::kSum));
    loss = loss + lm_weight * lm / divisor_of(divisors, 1);
  }
  return loss;
}

std::vector<Prediction> ClassifyTask::predict(Model& model, const std::vector<Example>& examples, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  std::vector<EncodedExample> encoded;
  for (const auto& ex : examples) encoded.push_back(encode(ex));
  std::vector<Prediction> out;
  for (size_t first = 0; first < encoded.size(); first += size_t(batch_size)) {
    std::vector<const EncodedExample*> chunk;
    for (size_t i = first; i < std::min(encoded.size(), first + size_t(batch_size)); ++i) chunk.push_back(&encoded[i]);
    const auto outputs = forward(model, make_batch(chunk)).to(torch::kCPU, torch::kFloat64);
    for (int64_t i = 0; i < int64_t(chunk.size()); ++i) {
      Prediction p;
      if (regression_) {
        p.score = outputs[i].item<double>();
      } else {
        auto probs = torch::softmax(outputs[i], -1).contiguous();
        p.probabilities.assign(probs.data_ptr<double>(), probs.data_ptr<double>() + probs.numel());
        p.label = probs.argmax().item<int64_t>();
        p.probability = p.probabilities[size_t(p.label)];
      }
      out.push_back(std::move(p));
    }
  }
  return out;
}

Metrics ClassifyTask::score(const std::vector<Prediction>& predictions, const std::vector<Example>& examples, double loss) const {
  Metrics m{{"loss", loss}};
  if (regression_) {
    std::vector<double> predicted, gold;
    double squared = 0;
    for (size_t i = 0; i < examples.size(); ++i) {
      predicted.push_back(predictions[i].score);
      gold.push_back(examples[i].score);
      squared += (predictions[i].score - examples[i].score) * (predictions[i].score - examples[i].score);
    }
    m.insert(m.end(), {{"pearson", pearson(predicted, gold)}, {"spearman", spearman(predicted, gold)},
                       {"mse", squared / double(std::max<size_t>(1, examples.size()))}});
  } else if (kind_ == TaskKind::kChoice) {
    int64_t right = 0;
    for (size_t i = 0; i < examples.size(); ++i) right += predictions[i].label == examples[i].label;
    m.emplace_back("accuracy", double(right) / double(std::max<size_t>(1, examples.size())));
  } else {
    const int64_t classes = int64_t(experiment_.task.labels.size());
    std::vector<int64_t> predicted, gold;
    for (size_t i = 0; i < examples.size(); ++i) predicted.push_back(predictions[i].label), gold.push_back(examples[i].label);
    const Confusion c = confusion_matrix(predicted, gold, classes);
    m.insert(m.end(), {{"accuracy", accuracy(c)}, {"f1", classes == 2 ? f1_of_class(c, positive_) : macro_f1(c)},
                       {"mcc", matthews(c)}});
  }
  m.emplace_back("examples", double(examples.size()));
  return m;
}

Metrics ClassifyTask::evaluate(Model& model, Split split, int64_t batch_size, int64_t max_batches) {
  torch::NoGradGuard no_grad;
  const auto& encoded = examples_[int(split)];
  TORCH_CHECK(!encoded.empty(), "no ", split_name(split), " split in this experiment");
  std::vector<Prediction> predictions;
  std::vector<Example> gold;  // the gold values, in order
  double loss_sum = 0;
  int64_t batches = 0;
  for (size_t first = 0; first < encoded.size(); first += size_t(batch_size), ++batches) {
    if (max_batches > 0 && batches >= max_batches) break;
    std::vector<const EncodedExample*> chunk;
    for (size_t i = first; i < std::min(encoded.size(), first + size_t(batch_size)); ++i) chunk.push_back(&encoded[i]);
    const TaskBatch batch = make_batch(chunk);
    const auto outputs = forward(model, batch);
    loss_sum += head_loss_sum(outputs, batch).item<double>();
    const auto values = outputs.to(torch::kCPU, torch::kFloat64);
    for (int64_t i = 0; i < int64_t(chunk.size()); ++i) {
      Prediction p;
      Example g;
      if (regression_) {
        p.score = values[i].item<double>();
        g.score = chunk[size_t(i)]->score;
      } else {
        p.label = values[i].argmax().item<int64_t>();
        g.label = chunk[size_t(i)]->label;
      }
      predictions.push_back(p);
      gold.push_back(g);
    }
  }
  return score(predictions, gold, loss_sum / double(std::max<size_t>(1, gold.size())));
}

}  // namespace qkv
