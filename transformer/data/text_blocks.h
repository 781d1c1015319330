// A corpus split as one token stream cut into fixed-length blocks for language modelling: a
// block of T+1 tokens gives T inputs and T next-token targets. The stream is a memory-mapped
// shard set (data/token_shards.h) or, for small inputs and tests, a tensor.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>

#include "transformer/data/block_order.h"
#include "transformer/data/token_shards.h"

namespace qkv {

// The tokens a sampler reads.
class TokenSource {
 public:
  TokenSource() = default;
  explicit TokenSource(torch::Tensor tokens);              // 1-D int64
  explicit TokenSource(std::shared_ptr<TokenShards> shards);
  int64_t size() const;
  void copy(int64_t begin, int64_t count, int64_t* out) const;
  const std::shared_ptr<TokenShards>& shards() const { return shards_; }  // null for a tensor

 private:
  torch::Tensor tokens_;
  std::shared_ptr<TokenShards> shards_;
};

// Non-overlapping blocks of block_len = T+1 tokens at stride T. Training order is a fresh
// permutation per epoch keyed by (seed, epoch) (data/block_order.h), so batch number i is the
// same whenever it is asked for: resuming needs only the number of batches already consumed.
class BlockSampler {
 public:
  BlockSampler() = default;
  BlockSampler(TokenSource tokens, int64_t seq_len, uint64_t seed, bool shuffle);
  BlockSampler(torch::Tensor tokens, int64_t seq_len, uint64_t seed, bool shuffle)
      : BlockSampler(TokenSource(std::move(tokens)), seq_len, seed, shuffle) {}

  int64_t num_blocks() const { return num_blocks_; }
  int64_t seq_len() const { return seq_len_; }
  // Rows first..first+count-1 of the sample order, as (count, T+1) int64.
  torch::Tensor blocks(int64_t first, int64_t count) const;

 private:
  TokenSource tokens_;
  int64_t seq_len_ = 0, num_blocks_ = 0;
  BlockOrder order_;
};

}  // namespace qkv
