// Model families, heads, initialisation and the make_model() wiring.
#include "transformer/models/model.h"

#include <cmath>
#include <map>
#include <set>

#include "transformer/kernels/cross_entropy.h"
#include "transformer/core/linear.h"
#include "transformer/util/checksum.h"

namespace qkv {

void DecodeState::select(const torch::Tensor& index) {
  cache.select(index);
  rnn.select(index);
  rnn_start.select(index);
  if (memory.defined()) memory = memory.index_select(0, index);
  if (memory_keep.defined()) memory_keep = memory_keep.index_select(0, index);
}

namespace {

StackOptions stack_options(const ModelConfig& c, bool decoder, bool cross) {
  StackOptions s;
  s.block.d_model = c.d_model;
  s.block.heads = c.heads;
  s.block.d_ff = c.d_ff;
  s.block.residual_dropout = c.dropout;
  s.block.attention_dropout = c.attention_dropout < 0 ? c.dropout : c.attention_dropout;
  s.block.pre_norm = c.pre_norm;
  s.block.norm = c.norm_type;
  s.block.activation = c.activation;
  s.block.bias = c.bias;
  s.block.cross = cross;
  s.block.attention = c.attention;
  s.layers = (decoder && c.family == Family::kSeq2Seq && c.decoder_layers > 0) ? c.decoder_layers : c.layers;
  s.position.kind = c.position.scheme;
  s.position.max_len = c.max_len;
  s.position.clip = c.position.clip;
  s.position.buckets = c.position.buckets;
  s.position.max_distance = c.position.max_distance;
  s.position.base = c.position.base;
  s.position.fraction = c.position.fraction;
  s.embedding_dropout = c.embedding_dropout < 0 ? c.dropout : c.embedding_dropout;
  s.causal = decoder;
  return s;
}

}  // namespace

TransformerModelImpl::TransformerModelImpl(const ModelConfig& config, int64_t vocab_size, uint64_t seed,
                                           int64_t source_vocab_size)
    : config_(config), vocab_size_(vocab_size), seed_(seed) {
  const int64_t c = config.d_model;
  token_embedding_ = register_module("token_embedding", torch::nn::Embedding(vocab_size, c));
  if (source_vocab_size > 0 && (config.family == Family::kSeq2Seq || config.family == Family::kRnn)) {
    source_embedding_ = register_module("source_embedding", torch::nn::Embedding(source_vocab_size, c));
  }
  if (config.family == Family::kBert) {
    segment_embedding_ = register_module("segment_embedding", torch::nn::Embedding(2, c));
    encoder_ = register_module("encoder", Stack(stack_options(config, false, false)));
    mlm_transform_ = register_module("mlm_transform", torch::nn::Linear(torch::nn::LinearOptions(c, c).bias(config.bias)));
    NormOptions norm;
    norm.dim = c;
    norm.kind = config.norm_type;
    norm.bias = config.bias;
    mlm_norm_ = register_module("mlm_norm", Norm(norm));
    lm_bias_ = register_parameter("mlm_bias", torch::zeros({vocab_size}));
  } else if (config.family == Family::kRnn) {
    RnnOptions rnn;
    rnn.d_model = c;
    rnn.encoder_layers = config.layers;
    rnn.decoder_layers = config.decoder_layers > 0 ? config.decoder_layers : config.layers;
    rnn.dropout = config.dropout;
    rnn_ = register_module("rnn", RnnSeq2Seq(rnn));
  } else {
    if (config.family == Family::kSeq2Seq) encoder_ = register_module("encoder", Stack(stack_options(config, false, false)));
    decoder_ = register_module("decoder", Stack(stack_options(config, true, config.family == Family::kSeq2Seq)));
  }
  if (!config.tie_embeddings) {
    lm_head_ = register_module("lm_head", torch::nn::Linear(torch::nn::LinearOptions(c, vocab_size).bias(false)));
  }
  if (config.num_classes > 0) {
    classifier_ = register_module("classifier", torch::nn::Linear(c, config.num_classes));
  }
  if (config.pooler) pooler_ = register_module("pooler", torch::nn::Linear(c, c));
  if (config.sentence_head) sentence_head_ = register_module("sentence_head", torch::nn::Linear(c, 2));
  initialise();
}

void TransformerModelImpl::initialise() {
  torch::NoGradGuard no_grad;
  const bool gpt2 = config_.init == InitScheme::kGpt2;
  auto generator_for = [&](const std::string& name) {
    return at::detail::createCPUGenerator(fnv1a64(name) ^ (seed_ * 0x9E3779B97F4A7C15ULL));
  };
  auto normal = [&](const std::string& name, torch::Tensor& t, double std) { t.normal_(0.0, std, generator_for(name)); };
  // GPT-2: projections into the residual stream scaled by 1/sqrt(2 * layers).
  std::set<const torch::nn::Module*> residual;
  std::map<const torch::nn::Module*, int64_t> depth;
  for (auto* stack : {&encoder_, &decoder_}) {
    if (!*stack) continue;
    for (auto& block : (*stack)->blocks())
      for (auto& proj : block->residual_projections()) {
        residual.insert(proj.get());
        depth[proj.get()] = (*stack)->options().layers;
      }
  }
  for (const auto& item : named_modules("", /*include_self=*/false)) {
    const std::string& name = item.key();
    if (auto* linear = item.value()->as<torch::nn::Linear>()) {
      if (!gpt2) {
        // Xavier uniform (Glorot & Bengio 2010): U(-a, a), a = sqrt(6 / (fan_in + fan_out)).
        const double a = std::sqrt(6.0 / double(linear->weight.size(0) + linear->weight.size(1)));
        linear->weight.uniform_(-a, a, generator_for(name + ".weight"));
      } else if (residual.count(linear)) {
        normal(name + ".weight", linear->weight, 0.02 / std::sqrt(2.0 * double(depth[linear])));
      } else {
        normal(name + ".weight", linear->weight, 0.02);
      }
      if (linear->bias.defined()) linear->bias.zero_();
    } else if (auto* embedding = item.value()->as<torch::nn::Embedding>()) {
      normal(name + ".weight", embedding->weight, gpt2 ? 0.02 : std::pow(double(config_.d_model), -0.5));
    }
  }
  for (auto& p : named_parameters()) {  // parameters outside Linear and Embedding modules
    if (p.key().find(".position.keys_") != std::string::npos || p.key().find(".position.values_") != std::string::npos) {
      normal(p.key(), p.value(), 0.02);  // shaw's tables
    } else if (p.key().find("_lstm.") != std::string::npos) {
      // LSTM weights and biases: U(-1/sqrt(H), 1/sqrt(H)) as PyTorch's own LSTM, H the units per direction.
      const bool encoder = p.key().find("encoder_lstm") != std::string::npos;
      const double bound = 1.0 / std::sqrt(double(encoder ? config_.d_model / 2 : config_.d_model));
      p.value().uniform_(-bound, bound, generator_for(p.key()));
    }
  }
}

torch::Tensor TransformerModelImpl::embed(const torch::Tensor& tokens, const torch::Tensor& segments, bool source) {
  auto x = (source && source_embedding_ ? source_embedding_ : token_embedding_)->forward(tokens);  // (B, T, C)
  if (config_.scale_embeddings) x = x * std::sqrt(double(config_.d_model));
  if (segment_embedding_ && segments.defined()) x = x + segment_embedding_->forward(segments);
  return x;
}

torch::Tensor TransformerModelImpl::encode(const torch::Tensor& source, const torch::Tensor& source_keep,
                                           DecodeState* state, std::vector<torch::Tensor>* weights) {
  torch::Tensor memory;  // (B, S, C)
  if (rnn_) {
    memory = rnn_->encode(embed(source, {}, /*source=*/true), source_keep);
    if (state) state->rnn = state->rnn_start = rnn_->start(memory, source_keep);
  } else {
    memory = encoder_->forward(embed(source, {}, /*source=*/true), source_keep, {}, {}, nullptr, weights);
  }
  if (state) {
    state->memory = memory;
    state->memory_keep = source_keep;
  }
  return memory;
}

torch::Tensor TransformerModelImpl::hidden(const torch::Tensor& tokens, const torch::Tensor& keep,
                                           const torch::Tensor& segments, DecodeState* state,
                                           std::vector<torch::Tensor>* weights) {
  if (config_.family == Family::kBert) {
    return encoder_->forward(embed(tokens, segments), keep, {}, {}, nullptr, weights);
  }
  if (rnn_) {
    TORCH_CHECK(state && state->memory.defined(), "rnn decoding needs an encoded source");
    if (state->incremental) return rnn_->decode(embed(tokens, {}), state->memory, state->memory_keep, state->rnn);
    RnnState fresh = state->rnn_start;  // teacher forcing: the whole prefix from the start
    return rnn_->decode(embed(tokens, {}), state->memory, state->memory_keep, fresh);
  }
  torch::Tensor memory, memory_keep;
  if (config_.family == Family::kSeq2Seq) {
    TORCH_CHECK(state && state->memory.defined(), "seq2seq decoding needs an encoded source");
    memory = state->memory;
    memory_keep = state->memory_keep;
  }
  StackCache* cache = (state && state->incremental) ? &state->cache : nullptr;
  return decoder_->forward(embed(tokens, {}), keep, memory, memory_keep, cache, weights);
}

torch::Tensor TransformerModelImpl::token_logits(const torch::Tensor& hidden) {
  auto h = hidden;
  if (config_.family == Family::kBert) {
    // BERT's MLM head: dense, activation, norm, then the tied decoder with its own bias.
    h = mlm_norm_->forward(torch::gelu(apply_linear(mlm_transform_, h)));
  }
  // The tied head as linear(h, W), not matmul(h, W.t()), for the reason core/linear.h gives.
  auto logits = lm_head_ ? apply_linear(lm_head_, h) : torch::linear(h, token_embedding_->weight);  // (B, T, V)
  if (lm_bias_.defined()) logits = logits + lm_bias_;
  return logits;
}

torch::Tensor TransformerModelImpl::token_loss(const torch::Tensor& hidden, const torch::Tensor& targets,
                                               int64_t ignore_index, double label_smoothing) {
  auto h = hidden.reshape({-1, hidden.size(-1)});  // (N, C)
  if (config_.family == Family::kBert) h = mlm_norm_->forward(torch::gelu(apply_linear(mlm_transform_, h)));
  const auto& weight = lm_head_ ? lm_head_->weight : token_embedding_->weight;  // (V, C)
  return linear_cross_entropy(h, weight, lm_bias_, targets.reshape({-1}), ignore_index, label_smoothing);
}

torch::Tensor TransformerModelImpl::pool(const torch::Tensor& hidden, const torch::Tensor& keep) {
  auto pooled = pool_hidden(hidden, keep);  // (B, C)
  return pooler_ ? torch::tanh(apply_linear(pooler_, pooled)) : pooled;
}

torch::Tensor TransformerModelImpl::pool_hidden(const torch::Tensor& hidden, const torch::Tensor& keep) {
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

torch::Tensor TransformerModelImpl::classify(const torch::Tensor& pooled) {
  TORCH_CHECK(classifier_, "model.num_classes is 0: this model has no classification head");
  return apply_linear(classifier_, pooled);  // (B, N)
}

torch::Tensor TransformerModelImpl::sentence_logits(const torch::Tensor& hidden, const torch::Tensor& keep) {
  TORCH_CHECK(sentence_head_, "this model has no sentence-pair head (task.sentence_objective is none)");
  return apply_linear(sentence_head_, pool(hidden, keep));  // (B, 2)
}

torch::Tensor TransformerModelImpl::class_logits(const torch::Tensor& hidden, const torch::Tensor& keep) {
  return classify(pool(hidden, keep));
}

int64_t TransformerModelImpl::max_positions() const {
  int64_t limit = -1;
  for (auto* stack : {&encoder_, &decoder_}) {
    if (!*stack) continue;
    const int64_t m = (*stack)->position()->max_positions();
    if (m >= 0) limit = limit < 0 ? m : std::min(limit, m);
  }
  return limit;
}

TransformerModel make_model(const ModelConfig& config, int64_t vocab_size, uint64_t seed, int64_t source_vocab_size) {
  return TransformerModel(config, vocab_size, seed, source_vocab_size);
}

}  // namespace qkv
