// A keyed permutation per epoch by a Feistel network with cycle walking.
#include "transformer/data/block_order.h"

namespace qkv {

namespace {

uint64_t mix(uint64_t x) {  // splitmix64's finaliser
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

BlockOrder::BlockOrder(int64_t items, uint64_t seed, bool shuffle) : items_(items), seed_(seed), shuffle_(shuffle) {
  int bits = 2;
  while ((uint64_t(1) << bits) < uint64_t(items)) bits += 2;
  half_bits_ = bits / 2;
}

uint64_t BlockOrder::permute(uint64_t x, uint64_t key) const {
  const uint64_t mask = (uint64_t(1) << half_bits_) - 1;
  uint64_t left = x >> half_bits_, right = x & mask;
  for (uint64_t round = 0; round < 4; ++round) {
    const uint64_t next = left ^ (mix(key ^ (round * 0xD1B54A32D192ED03ULL) ^ right) & mask);
    left = right;
    right = next;
  }
  return (left << half_bits_) | right;
}

int64_t BlockOrder::at(int64_t position) const {
  const int64_t epoch = position / items_, index = position % items_;
  if (!shuffle_) return index;
  const uint64_t key = mix(seed_ * 0x9E3779B97F4A7C15ULL + uint64_t(epoch));
  uint64_t x = uint64_t(index);
  do {
    x = permute(x, key);  // a bijection of the domain: walking it returns inside [0, n)
  } while (x >= uint64_t(items_));
  return int64_t(x);
}

}  // namespace qkv
