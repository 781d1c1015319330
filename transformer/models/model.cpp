// The parts every family shares: embeddings, output layer and loss, heads, pooling and
// initialisation; make_model() picks the family.
#include "transformer/models/model.h"

#include <cmath>

#include "transformer/core/linear.h"
#include "transformer/kernels/cross_entropy.h"
#include "transformer/models/rnn_model.h"
#include "transformer/models/transformer_model.h"
#include "transformer/util/checksum.h"

namespace qkv {

void DecodeState::select(const torch::Tensor& index) {
  cache.select(index);
  rnn.select(index);
  rnn_start.select(index);
  if (memory.defined()) memory = memory.index_select(0, index);
  if (memory_keep.defined()) memory_keep = memory_keep.index_select(0, index);
}

ModelImpl::ModelImpl(const ModelConfig& config, int64_t vocab_size, uint64_t seed, int64_t source_vocab_size)
    : config_(config), vocab_size_(vocab_size), seed_(seed) {
  const int64_t c = config.d_model;
  token_embedding_ = register_module("token_embedding", torch::nn::Embedding(vocab_size, c));
  if (source_vocab_size > 0 && (config.family == Family::kSeq2Seq || config.family == Family::kRnn)) {
    source_embedding_ = register_module("source_embedding", torch::nn::Embedding(source_vocab_size, c));
  }
}

void ModelImpl::register_heads() {
  const int64_t c = config_.d_model;
  if (!config_.tie_embeddings) {
    lm_head_ = register_module("lm_head", torch::nn::Linear(torch::nn::LinearOptions(c, vocab_size_).bias(false)));
  }
  if (config_.num_classes > 0) classifier_ = register_module("classifier", torch::nn::Linear(c, config_.num_classes));
  if (config_.pooler) pooler_ = register_module("pooler", torch::nn::Linear(c, c));
  if (config_.sentence_head) sentence_head_ = register_module("sentence_head", torch::nn::Linear(c, 2));
}

namespace {

at::Generator generator_for(const std::string& name, uint64_t seed) {
  return at::detail::createCPUGenerator(fnv1a64(name) ^ (seed * 0x9E3779B97F4A7C15ULL));
}

}  // namespace

at::Generator ModelImpl::parameter_generator(const std::string& name) const { return generator_for(name, seed_); }

NormalInit ModelImpl::normal_init() const {
  const uint64_t seed = seed_;
  return [seed](const std::string& name, torch::Tensor& t, double std) { t.normal_(0.0, std, generator_for(name, seed)); };
}

void ModelImpl::initialise(const std::map<const torch::nn::Module*, int64_t>& residual_depths) {
  torch::NoGradGuard no_grad;
  const bool gpt2 = config_.init == InitScheme::kGpt2;
  const NormalInit normal = normal_init();
  for (const auto& item : named_modules("", /*include_self=*/false)) {
    const std::string& name = item.key();
    if (auto* linear = item.value()->as<torch::nn::Linear>()) {
      if (!gpt2) {
        // Xavier uniform (Glorot & Bengio 2010): U(-a, a), a = sqrt(6 / (fan_in + fan_out)).
        const double a = std::sqrt(6.0 / double(linear->weight.size(0) + linear->weight.size(1)));
        linear->weight.uniform_(-a, a, generator_for(name + ".weight", seed_));
      } else if (auto depth = residual_depths.find(linear); depth != residual_depths.end()) {
        // GPT-2: projections into the residual stream scaled by 1/sqrt(2 * layers).
        normal(name + ".weight", linear->weight, 0.02 / std::sqrt(2.0 * double(depth->second)));
      } else {
        normal(name + ".weight", linear->weight, 0.02);
      }
      if (linear->bias.defined()) linear->bias.zero_();
    } else if (auto* embedding = item.value()->as<torch::nn::Embedding>()) {
      normal(name + ".weight", embedding->weight, gpt2 ? 0.02 : std::pow(double(config_.d_model), -0.5));
    }
  }
}

torch::Tensor ModelImpl::embed_tokens(const torch::Tensor& tokens, bool source) {
  auto x = (source && source_embedding_ ? source_embedding_ : token_embedding_)->forward(tokens);  // (B, T, C)
  if (config_.scale_embeddings) x = x * std::sqrt(double(config_.d_model));
  return x;
}

torch::Tensor ModelImpl::encode(const torch::Tensor& source, const torch::Tensor& source_keep, DecodeState* state,
                                std::vector<torch::Tensor>* weights) {
  TORCH_CHECK(false, "model.family ", choice_name(family_choices(), config_.family), " has no encoder for a source");
}

torch::Tensor ModelImpl::token_logits(const torch::Tensor& hidden) {
  const auto h = output_transform(hidden);
  // The tied head as linear(h, W), not matmul(h, W.t()), for the reason core/linear.h gives.
  auto logits = lm_head_ ? apply_linear(lm_head_, h) : torch::linear(h, token_embedding_->weight);  // (B, T, V)
  if (output_bias_.defined()) logits = logits + output_bias_;
  return logits;
}

torch::Tensor ModelImpl::token_loss(const torch::Tensor& hidden, const torch::Tensor& targets, int64_t ignore_index,
                                    double label_smoothing, double divisor) {
  const auto h = output_transform(hidden.reshape({-1, hidden.size(-1)}));  // (N, C)
  const auto& weight = lm_head_ ? lm_head_->weight : token_embedding_->weight;  // (V, C)
  return linear_cross_entropy(h, weight, output_bias_, targets.reshape({-1}), ignore_index, label_smoothing, divisor);
}

torch::Tensor ModelImpl::pool(const torch::Tensor& hidden, const torch::Tensor& keep) {
  auto pooled = pool_hidden(hidden, keep);  // (B, C)
  return pooler_ ? torch::tanh(apply_linear(pooler_, pooled)) : pooled;
}

torch::Tensor ModelImpl::pool_hidden(const torch::Tensor& hidden, const torch::Tensor& keep) {
  Pooling how = config_.pool;
  if (how == Pooling::kAuto) how = config_.family == Family::kBert ? Pooling::kFirst : Pooling::kLast;
  if (how == Pooling::kFirst) return hidden.select(1, 0);  // (B, C)
  if (how == Pooling::kMean) {
    if (!keep.defined()) return hidden.mean(1);
    auto weight = keep.to(hidden.dtype()).unsqueeze(-1);                 // (B, T, 1)
    return (hidden * weight).sum(1) / weight.sum(1).clamp_min(1.0);      // (B, C)
  }
  auto last = keep.defined() ? keep.to(torch::kLong).sum(1) - 1
                             : torch::full({hidden.size(0)}, hidden.size(1) - 1, torch::dtype(torch::kLong).device(hidden.device()));
  return hidden.gather(1, last.view({-1, 1, 1}).expand({-1, 1, hidden.size(2)})).squeeze(1);  // (B, C)
}

torch::Tensor ModelImpl::classify(const torch::Tensor& pooled) {
  TORCH_CHECK(classifier_, "model.num_classes is 0: this model has no classification head");
  return apply_linear(classifier_, pooled);  // (B, N)
}

torch::Tensor ModelImpl::sentence_logits(const torch::Tensor& hidden, const torch::Tensor& keep) {
  TORCH_CHECK(sentence_head_, "this model has no sentence-pair head (task.sentence_objective is none)");
  return apply_linear(sentence_head_, pool(hidden, keep));  // (B, 2)
}

torch::Tensor ModelImpl::class_logits(const torch::Tensor& hidden, const torch::Tensor& keep) {
  return classify(pool(hidden, keep));
}

Model make_model(const ModelConfig& config, int64_t vocab_size, uint64_t seed, int64_t source_vocab_size) {
  if (config.family == Family::kRnn) {
    return Model(std::shared_ptr<ModelImpl>(std::make_shared<RnnModelImpl>(config, vocab_size, seed, source_vocab_size)));
  }
  return Model(std::shared_ptr<ModelImpl>(std::make_shared<TransformerModelImpl>(config, vocab_size, seed, source_vocab_size)));
}

}  // namespace qkv
