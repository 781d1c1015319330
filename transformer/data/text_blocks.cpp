// Token streams from text files, and the block sampler.
#include "transformer/data/text_blocks.h"

#include <fstream>

#include <fmt/format.h>

#include "transformer/errors.h"

namespace qkv {

torch::Tensor read_token_stream(const std::string& path, const Tokenizer& tokenizer) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open the text file", path));
  std::vector<int64_t> ids;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    for (int id : tokenizer.encode(line)) ids.push_back(id);
    ids.push_back(tokenizer.special().eos);
  }
  return torch::tensor(ids, torch::kLong);
}

BlockSampler::BlockSampler(torch::Tensor tokens, int64_t seq_len, uint64_t seed, bool shuffle)
    : tokens_(std::move(tokens)), seq_len_(seq_len), seed_(seed), shuffle_(shuffle) {
  num_blocks_ = tokens_.numel() > seq_len ? (tokens_.numel() - 1) / seq_len : 0;
}

int64_t BlockSampler::block_at(int64_t sample) {
  const int64_t epoch = sample / num_blocks_;
  const int64_t index = sample % num_blocks_;
  if (!shuffle_) return index;
  if (epoch != epoch_) {
    order_.resize(size_t(num_blocks_));
    for (int64_t i = 0; i < num_blocks_; ++i) order_[size_t(i)] = i;
    std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ULL + uint64_t(epoch));
    for (int64_t i = num_blocks_ - 1; i > 0; --i) {  // Fisher-Yates, independent of the library's shuffle
      const int64_t j = int64_t(rng() % uint64_t(i + 1));
      std::swap(order_[size_t(i)], order_[size_t(j)]);
    }
    epoch_ = epoch;
  }
  return order_[size_t(index)];
}

torch::Tensor BlockSampler::blocks(int64_t first, int64_t count) {
  TORCH_CHECK(num_blocks_ > 0, "corpus shorter than one block");
  auto out = torch::empty({count, seq_len_ + 1}, torch::kLong);
  for (int64_t r = 0; r < count; ++r) {
    const int64_t block = block_at(first + r);
    out[r].copy_(tokens_.narrow(0, block * seq_len_, seq_len_ + 1));
  }
  return out;
}

}  // namespace qkv
