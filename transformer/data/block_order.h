// The order training visits a corpus's blocks in: for each epoch a fresh permutation of [0, n)
// keyed by (seed, epoch), computed per position in constant memory, so batch i is a pure
// function of (seed, i) at any corpus size (10^10 tokens are 4 * 10^7 blocks of 256). The
// permutation is a 4-round Feistel network over the smallest domain of 2^(2h) >= n, walked along
// its cycle until the value lands inside [0, n) (cycle walking: Black & Rogaway 2002); expected
// under 4 rounds of the network per position.
#pragma once

#include <cstdint>

namespace qkv {

class BlockOrder {
 public:
  BlockOrder() = default;
  BlockOrder(int64_t items, uint64_t seed, bool shuffle = true);

  int64_t items() const { return items_; }
  // The item at position p counted across epochs (epoch p / items).
  int64_t at(int64_t position) const;

 private:
  uint64_t permute(uint64_t x, uint64_t key) const;

  int64_t items_ = 0;
  uint64_t seed_ = 0;
  bool shuffle_ = true;
  int half_bits_ = 1;
};

}  // namespace qkv
