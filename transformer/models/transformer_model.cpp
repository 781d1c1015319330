// The gpt, bert and seq2seq families: stacks, embeddings with segments, BERT's MLM head.
#include "transformer/models/transformer_model.h"

#include "transformer/core/linear.h"

namespace qkv {

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
  s.block.norm_eps = c.norm_eps;
  s.block.activation = c.activation;
  s.block.bias = c.bias;
  s.block.cross = cross;
  s.block.attention = c.attention;
  s.layers = (decoder && c.family == Family::kSeq2Seq && c.decoder_layers > 0) ? c.decoder_layers : c.layers;
  s.position.config = c.position;
  s.position.max_len = c.max_len;
  s.embedding_dropout = c.embedding_dropout < 0 ? c.dropout : c.embedding_dropout;
  s.embed_norm = c.embed_norm;
  s.causal = decoder;
  return s;
}

}  // namespace

TransformerModelImpl::TransformerModelImpl(const ModelConfig& config, int64_t vocab_size, uint64_t seed,
                                           int64_t source_vocab_size)
    : ModelImpl(config, vocab_size, seed, source_vocab_size) {
  const int64_t c = config.d_model;
  if (config.family == Family::kBert) {
    segment_embedding_ = register_module("segment_embedding", torch::nn::Embedding(config.segments, c));
    const StackOptions encoder = stack_options(config, false, false);
    encoder_ = register_module("encoder", Stack(encoder));
    mlm_transform_ = register_module("mlm_transform", torch::nn::Linear(torch::nn::LinearOptions(c, c).bias(config.bias)));
    mlm_norm_ = register_module("mlm_norm", Norm(encoder.block.norm_options()));
    output_bias_ = register_parameter("mlm_bias", torch::zeros({vocab_size}));
  } else {
    if (config.family == Family::kSeq2Seq) encoder_ = register_module("encoder", Stack(stack_options(config, false, false)));
    decoder_ = register_module("decoder", Stack(stack_options(config, true, config.family == Family::kSeq2Seq)));
  }
  register_heads();
  std::map<const torch::nn::Module*, int64_t> residual_depths;
  for (auto* stack : {&encoder_, &decoder_}) {
    if (!*stack) continue;
    for (auto& block : (*stack)->blocks())
      for (auto& projection : block->residual_projections()) residual_depths[projection.get()] = (*stack)->options().layers;
  }
  initialise(residual_depths);
  torch::NoGradGuard no_grad;
  for (const auto& [prefix, stack] : {std::pair<const char*, Stack*>{"encoder", &encoder_}, {"decoder", &decoder_}})
    if (*stack) (*stack)->position()->initialise(std::string(prefix) + ".position", normal_init());
}

torch::Tensor TransformerModelImpl::embed(const torch::Tensor& tokens, const torch::Tensor& segments, bool source) {
  auto x = embed_tokens(tokens, source);  // (B, T, C)
  // no segments given: all segment 0, as BERT's token_type_ids default
  if (segment_embedding_) x = x + (segments.defined() ? segment_embedding_->forward(segments) : segment_embedding_->weight[0]);
  return x;
}

torch::Tensor TransformerModelImpl::encode(const torch::Tensor& source, const torch::Tensor& source_keep,
                                           DecodeState* state, std::vector<torch::Tensor>* weights) {
  auto memory = encoder_->forward(embed(source, {}, /*source=*/true), source_keep, {}, {}, nullptr, weights);  // (B, S, C)
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
  torch::Tensor memory, memory_keep;
  if (config_.family == Family::kSeq2Seq) {
    TORCH_CHECK(state && state->memory.defined(), "seq2seq decoding needs an encoded source");
    memory = state->memory;
    memory_keep = state->memory_keep;
  }
  StackCache* cache = (state && state->incremental) ? &state->cache : nullptr;
  return decoder_->forward(embed(tokens, {}), keep, memory, memory_keep, cache, weights);
}

torch::Tensor TransformerModelImpl::output_transform(const torch::Tensor& hidden) {
  if (config_.family != Family::kBert) return hidden;
  // BERT's MLM head: dense, activation (the model's; GELU for swiglu), norm, then the tied decoder
  // with its own bias.
  const auto h = apply_linear(mlm_transform_, hidden);
  switch (config_.activation) {
    case Activation::kRelu: return mlm_norm_->forward(torch::relu(h));
    case Activation::kGeluTanh: return mlm_norm_->forward(torch::gelu(h, "tanh"));
    default: return mlm_norm_->forward(torch::gelu(h));
  }
}

int64_t TransformerModelImpl::max_positions() const {
  int64_t limit = -1;
  for (auto* stack : {&encoder_, &decoder_}) {
    if (!*stack) continue;
    const int64_t m = (*stack)->max_positions();
    if (m >= 0) limit = limit < 0 ? m : std::min(limit, m);
  }
  return limit;
}

}  // namespace qkv
