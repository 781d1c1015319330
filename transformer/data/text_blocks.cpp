// Token sources and the block sampler.
#include "transformer/data/text_blocks.h"

#include <cstring>

namespace qkv {

TokenSource::TokenSource(torch::Tensor tokens) : tokens_(tokens.to(torch::kLong).contiguous()) {}

TokenSource::TokenSource(std::shared_ptr<TokenShards> shards) : shards_(std::move(shards)) {}

int64_t TokenSource::size() const {
  if (shards_) return shards_->size();
  return tokens_.defined() ? tokens_.numel() : 0;
}

void TokenSource::copy(int64_t begin, int64_t count, int64_t* out) const {
  if (shards_) return shards_->copy(begin, count, out);
  std::memcpy(out, tokens_.data_ptr<int64_t>() + begin, size_t(count) * sizeof(int64_t));
}

BlockSampler::BlockSampler(TokenSource tokens, int64_t seq_len, uint64_t seed, bool shuffle)
    : tokens_(std::move(tokens)), seq_len_(seq_len) {
  const int64_t n = tokens_.size();
  num_blocks_ = n > seq_len ? (n - 1) / seq_len : 0;
  if (num_blocks_ > 0) order_ = BlockOrder(num_blocks_, seed, shuffle);
}

torch::Tensor BlockSampler::blocks(int64_t first, int64_t count) const {
  TORCH_CHECK(num_blocks_ > 0, "corpus shorter than one block");
  auto out = torch::empty({count, seq_len_ + 1}, torch::kLong);
  int64_t* p = out.data_ptr<int64_t>();
  for (int64_t r = 0; r < count; ++r) tokens_.copy(order_.at(first + r) * seq_len_, seq_len_ + 1, p + r * (seq_len_ + 1));
  return out;
}

}  // namespace qkv
