// Token streams from text files, and the block sampler.
#include "transformer/data/text_blocks.h"

#include <fstream>

#include <fmt/format.h>

#include "transformer/data/lines.h"
#include "transformer/util/errors.h"

namespace qkv {

torch::Tensor read_token_stream(const std::string& path, const Tokenizer& tokenizer, const DataConfig& data) {
  std::vector<int64_t> ids;
  for (const auto& line : read_text_lines(path, data)) {
    for (int id : tokenizer.encode(line)) ids.push_back(id);
    ids.push_back(tokenizer.special().eos);
  }
  return torch::tensor(ids, torch::kLong);
}

BlockSampler::BlockSampler(torch::Tensor tokens, int64_t seq_len, uint64_t seed, bool shuffle)
    : tokens_(std::move(tokens)), seq_len_(seq_len) {
  num_blocks_ = tokens_.numel() > seq_len ? (tokens_.numel() - 1) / seq_len : 0;
  if (num_blocks_ > 0) order_ = EpochOrder(num_blocks_, seed, shuffle);
}

torch::Tensor BlockSampler::blocks(int64_t first, int64_t count) {
  TORCH_CHECK(num_blocks_ > 0, "corpus shorter than one block");
  auto out = torch::empty({count, seq_len_ + 1}, torch::kLong);
  for (int64_t r = 0; r < count; ++r) {
    const int64_t block = order_.at(first + r);
    out[r].copy_(tokens_.narrow(0, block * seq_len_, seq_len_ + 1));
  }
  return out;
}

}  // namespace qkv
