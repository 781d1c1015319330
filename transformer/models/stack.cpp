// Encoder/decoder stack: position embedding, masks and signals built once, then the blocks.
#include "transformer/models/stack.h"
#include "transformer/kernels/dropout.h"

#include "transformer/core/mask.h"

#include <ATen/CPUGeneratorImpl.h>

namespace qkv {

namespace {
// The seed of the positions evaluation draws under model.position.randomize.
constexpr uint64_t kEvalPositionsSeed = 0x9e3779b97f4a7c15ULL;
}  // namespace

void StackCache::select(const torch::Tensor& index) {
  for (auto& b : blocks) {
    b.self.select(index);
    b.cross.select(index);
  }
  if (key_keep.defined()) key_keep = key_keep.index_select(0, index);
}

StackImpl::StackImpl(const StackOptions& options) : options_(options) {
  PositionOptions position = options.position;
  position.d_model = options.block.d_model;
  position.heads = options.block.heads;
  position.layers = options.layers;
  position.causal = options.causal;
  options_.position = position;
  position_ = register_module("position", make_position_scheme(position));
  for (int64_t i = 0; i < options.layers; ++i) {
    blocks_.push_back(register_module("block_" + std::to_string(i), Block(options.block)));
  }
  if (options.block.pre_norm) final_norm_ = register_module("final_norm", Norm(options.block.norm_options()));
  if (options.embed_norm) embed_norm_ = register_module("embed_norm", Norm(options.block.norm_options()));
  eval_positions_ = at::detail::createCPUGenerator(kEvalPositionsSeed);
}

int64_t StackImpl::max_positions() const {
  const int64_t scheme = position_->max_positions();
  const int64_t range = options_.position.integer("randomize");
  if (range <= 0) return scheme;
  return scheme < 0 ? range : std::min(scheme, range);
}

void StackImpl::train(bool on) {
  torch::nn::Module::train(on);
  if (!on) eval_positions_ = at::detail::createCPUGenerator(kEvalPositionsSeed);
}

torch::Tensor StackImpl::embed(torch::Tensor x, int64_t offset, const torch::Tensor& positions) {
  x = positions.defined() ? embed_at(*position_, x, positions) : position_->embed(x, offset);
  if (embed_norm_) x = embed_norm_->forward(x);
  if (is_training() && options_.embedding_dropout > 0.0) x = qkv::dropout(x, options_.embedding_dropout, true);
  return x;
}

torch::Tensor StackImpl::forward(torch::Tensor x, const torch::Tensor& keep, const torch::Tensor& memory,
                                 const torch::Tensor& memory_keep, StackCache* cache,
                                 std::vector<torch::Tensor>* weights) {
  const int64_t q_len = x.size(1);
  const int64_t offset = cache ? cache->length : 0;
  const int64_t k_len = offset + q_len;
  const auto device = x.device();

  torch::Tensor key_keep = keep;  // (B, Tk)
  if (cache) {
    if (cache->blocks.empty()) cache->blocks.resize(blocks_.size());
    if (keep.defined() || cache->key_keep.defined()) {
      auto old = cache->key_keep.defined() ? cache->key_keep
                                           : torch::ones({x.size(0), offset}, torch::dtype(torch::kBool).device(device));
      auto fresh = keep.defined() ? keep.to(torch::kBool)
                                  : torch::ones({x.size(0), q_len}, torch::dtype(torch::kBool).device(device));
      cache->key_keep = torch::cat({old, fresh}, 1);
      key_keep = cache->key_keep;
    }
  }

  // Randomized positions (model.position.randomize): training draws from the default generator
  // (reseeded for every share of a step), evaluation from the stack's own; cached decoding, which
  // cannot know the final length, reads 0..T-1.
  const int64_t range = options_.position.integer("randomize");
  torch::Tensor positions;  // (T), int64
  if (range > 0 && !cache) positions = random_positions(q_len, range, device, is_training() ? nullptr : &eval_positions_);

  x = embed(x, offset, positions);

  const PositionSignals signals = positions.defined() ? signals_at(*position_, positions, device)
                                                      : position_->signals(q_len, offset, k_len, 0, device);
  BlockInputs in;
  in.self.keep_mask = build_keep_mask(key_keep, options_.causal, q_len, k_len, offset, device);
  in.self.causal_only = options_.causal && !key_keep.defined() && offset == 0;
  in.self.signals = &signals;
  if (options_.block.cross) {
    in.memory = memory;
    in.cross.keep_mask = build_keep_mask(memory_keep, false, q_len, memory.size(1), 0, device);
  }
  for (size_t i = 0; i < blocks_.size(); ++i) {
    in.self.layer = int64_t(i);
    torch::Tensor w;
    x = blocks_[i]->forward(x, in, cache ? &cache->blocks[i] : nullptr, weights ? &w : nullptr);
    if (weights) weights->push_back(w);
  }
  if (cache) cache->length = k_len;
  return final_norm_ ? final_norm_->forward(x) : x;
}

}  // namespace qkv
