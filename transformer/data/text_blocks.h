// Plain-text corpora as one token stream cut into fixed-length blocks for language modelling:
// each non-empty line is encoded and followed by eos; a block of T+1 tokens gives T inputs and
// T next-token targets.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "transformer/data/epoch_order.h"
#include "transformer/text/tokenizer.h"

namespace qkv {

// The whole file as token ids (int64, 1-D), eos after each line. Bad lines follow data.on_error
// (InputError naming file:line in strict mode).
torch::Tensor read_token_stream(const std::string& path, const Tokenizer& tokenizer, const DataConfig& data = {});

// Non-overlapping blocks of block_len = T+1 tokens at stride T. Training order is a fresh
// permutation per epoch drawn from (seed, epoch), so batch number i is the same whenever it is
// asked for: resuming needs only the number of batches already consumed.
class BlockSampler {
 public:
  BlockSampler() = default;
  BlockSampler(torch::Tensor tokens, int64_t seq_len, uint64_t seed, bool shuffle);

  int64_t num_blocks() const { return num_blocks_; }
  int64_t seq_len() const { return seq_len_; }
  // Rows first..first+count-1 of the sample order, as (count, T+1) int64.
  torch::Tensor blocks(int64_t first, int64_t count);

 private:
  torch::Tensor tokens_;
  int64_t seq_len_ = 0, num_blocks_ = 0;
  EpochOrder order_;
};

}  // namespace qkv
