// Causal LM task.
#include "transformer/tasks/causal_lm.h"

#include <cmath>

#include <fmt/format.h>

#include "transformer/core/device.h"
#include "transformer/data/corpus.h"
#include "transformer/util/errors.h"

namespace qkv {

CausalLmTask::CausalLmTask(const Experiment& experiment)
    : seq_len_(experiment.train.seq_len), seed_(uint64_t(experiment.seed)) {}

void CausalLmTask::prepare(const Experiment& e, const Tokenizer& tokenizer, bool need_train) {
  const CorpusOptions& options = corpus_defaults();
  if (need_train) {
    train_ = BlockSampler(TokenSource(open_corpus(e.data, e.seed, "train", tokenizer, options)), seq_len_, seed_, true);
    if (train_.num_blocks() == 0) {
      throw InputError(fmt::format("data.train {}: too short for one block of train.seq_len + 1 = {} tokens", e.data.train.joined(),
                                   seq_len_ + 1));
    }
  }
  auto read_split = [&](const std::string& split) {
    TokenSource tokens(open_corpus(e.data, e.seed, split, tokenizer, options));
    // Checked now, not when the first evaluation comes round after hours of training.
    if (tokens.size() < seq_len_ + 1) {
      throw InputError(fmt::format("data.{}: {} tokens, too short for one block of train.seq_len + 1 = {}", split, tokens.size(),
                                   seq_len_ + 1));
    }
    return tokens;
  };
  if (corpus_has_split(e.data, "valid")) valid_tokens_ = read_split("valid");
  if (corpus_has_split(e.data, "test")) test_tokens_ = read_split("test");
}

const TokenSource& CausalLmTask::split_tokens(Split split) const {
  const TokenSource& tokens = split == Split::kTest ? test_tokens_ : valid_tokens_;
  TORCH_CHECK(split != Split::kTrain && tokens.size() > 0, "no ", split_name(split), " split in this experiment");
  return tokens;
}

bool CausalLmTask::has_split(Split split) const {
  switch (split) {
    case Split::kTrain: return train_.num_blocks() > 0;
    case Split::kValid: return valid_tokens_.size() > 0;
    case Split::kTest: return test_tokens_.size() > 0;
  }
  return false;
}

TaskBatch CausalLmTask::train_batch(int64_t index, int64_t batch_size) {
  auto blocks = train_.blocks(index * batch_size, batch_size);  // (B, T+1)
  TaskBatch batch;
  batch.tokens = blocks.narrow(1, 0, seq_len_);
  batch.targets = blocks.narrow(1, 1, seq_len_);
  batch.tokens_count = batch.tokens.numel();
  return to_compute_device(std::move(batch));
}

torch::Tensor causal_lm_loss(Model& model, const TaskBatch& batch, double divisor) {
  return model->token_loss(model->hidden(batch.tokens), batch.targets, kIgnore, 0.0, divisor);
}

torch::Tensor CausalLmTask::loss(Model& model, const TaskBatch& batch, const std::vector<double>& divisors) {
  return causal_lm_loss(model, batch, divisor_of(divisors, 0));
}

TaskBatch SyntheticLmTask::train_batch(int64_t index, int64_t batch_size) {
  auto generator = at::detail::createCPUGenerator(seed_ * 1000003ULL + uint64_t(index));
  auto blocks = torch::randint(vocab_, {batch_size, seq_len_ + 1}, generator, torch::kLong);  // (B, T+1)
  TaskBatch batch;
  batch.tokens = blocks.narrow(1, 0, seq_len_);
  batch.targets = blocks.narrow(1, 1, seq_len_);
  batch.tokens_count = batch.tokens.numel();
  return to_compute_device(std::move(batch));
}

torch::Tensor causal_lm_token_losses(Model& model, const torch::Tensor& blocks) {
  const int64_t batch = blocks.size(0), t = blocks.size(1) - 1;
  auto logits = model->token_logits(model->hidden(blocks.narrow(1, 0, t)));  // (B, T, V)
  auto loss = torch::nn::functional::cross_entropy(
      logits.reshape({-1, logits.size(-1)}).to(torch::kFloat32), blocks.narrow(1, 1, t).reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));  // (B*T)
  return loss.view({batch, t}).to(torch::kFloat64);                              // (B, T)
}

torch::Tensor CausalLmTask::split_blocks(Split split, int64_t seq_len, int64_t max_blocks) const {
  BlockSampler blocks(split_tokens(split), seq_len, 0, false);
  if (blocks.num_blocks() == 0) throw InputError(fmt::format("the {} split is shorter than one block of {} tokens", split_name(split), seq_len + 1));
  return blocks.blocks(0, std::min(max_blocks, blocks.num_blocks())).to(compute_device());
}

Metrics CausalLmTask::evaluate(Model& model, Split split, int64_t batch_size, int64_t max_batches) {
  return evaluate_at(model, split, seq_len_, batch_size, max_batches);
}

Metrics CausalLmTask::evaluate_at(Model& model, Split split, int64_t seq_len, int64_t batch_size,
                                  int64_t max_batches, std::vector<double>* loss_by_position,
                                  torch::Tensor* loss_by_band) {
  BlockSampler blocks(split_tokens(split), seq_len, 0, false);  // every block once, in order
  if (blocks.num_blocks() == 0) throw InputError(fmt::format("the {} split is shorter than one block of {} tokens", split_name(split), seq_len + 1));
  torch::NoGradGuard no_grad;
  auto per_position = torch::zeros({seq_len}, torch::kFloat64);  // summed over blocks
  std::vector<torch::Tensor> by_band;
  const int64_t band = std::min(kLossBand, seq_len), bands = seq_len / band;
  int64_t rows = 0;
  for (int64_t first = 0, batches = 0; first < blocks.num_blocks(); first += batch_size, ++batches) {
    if (max_batches > 0 && batches >= max_batches) break;
    const int64_t n = std::min(batch_size, blocks.num_blocks() - first);
    const auto losses = causal_lm_token_losses(model, blocks.blocks(first, n).to(compute_device()));  // (n, T)
    per_position += losses.sum(0).cpu();  // reduced where computed: only (T) and (n, bands) leave the device
    if (loss_by_band) by_band.push_back(losses.narrow(1, 0, bands * band).reshape({n, bands, band}).mean(2).cpu());
    rows += n;
  }
  const int64_t count = rows * seq_len;
  const double loss = per_position.sum().item<double>() / double(count);
  if (loss_by_position) {
    auto mean = (per_position / double(rows)).contiguous();
    loss_by_position->assign(mean.data_ptr<double>(), mean.data_ptr<double>() + seq_len);
  }
  if (loss_by_band) *loss_by_band = torch::cat(by_band);
  return {{"loss", loss}, {"ppl", std::exp(loss)}, {"tokens", double(count)}};
}

Metrics CausalLmTask::evaluate_sliding(Model& model, Split split, int64_t seq_len, int64_t stride, int64_t batch_size) {
  const TokenSource& tokens = split_tokens(split);
  if (stride < 1 || stride > seq_len) throw InputError(fmt::format("--stride: expected 1..{} (the length), found {}", seq_len, stride));
  if (tokens.size() < seq_len + 1) throw InputError(fmt::format("the {} split is shorter than one block of {} tokens", split_name(split), seq_len + 1));
  const int64_t windows = (tokens.size() - seq_len - 1) / stride + 1;  // window w covers tokens [w*stride, w*stride + seq_len]
  torch::NoGradGuard no_grad;
  double total = 0.0;
  int64_t count = 0;
  auto window_batch = [&](int64_t first, int64_t n) {
    auto blocks = torch::empty({n, seq_len + 1}, torch::kLong);
    for (int64_t r = 0; r < n; ++r) tokens.copy((first + r) * stride, seq_len + 1, blocks[r].data_ptr<int64_t>());
    return causal_lm_token_losses(model, blocks.to(compute_device())).sum(0).cpu();  // (T), summed over rows
  };
  total += window_batch(0, 1).sum().item<double>();  // the first window: every target
  count += seq_len;
  for (int64_t first = 1; first < windows; first += batch_size) {
    const int64_t n = std::min(batch_size, windows - first);
    total += window_batch(first, n).narrow(0, seq_len - stride, stride).sum().item<double>();
    count += n * stride;
  }
  const double loss = total / double(count);
  return {{"loss", loss}, {"ppl", std::exp(loss)}, {"tokens", double(count)}};
}

}  // namespace qkv
