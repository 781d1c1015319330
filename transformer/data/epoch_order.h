// The order training visits N items in: a fresh permutation per epoch drawn from (seed, epoch),
// so the item at position p (counted across epochs) is the same whenever it is asked for and
// resuming needs only the number of items already consumed.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace qkv {

class EpochOrder {
 public:
  EpochOrder() = default;
  EpochOrder(int64_t items, uint64_t seed, bool shuffle = true) : items_(items), seed_(seed), shuffle_(shuffle) {}

  int64_t items() const { return items_; }
  int64_t at(int64_t position) {
    const int64_t epoch = position / items_, index = position % items_;
    if (!shuffle_) return index;
    if (epoch != epoch_) {
      order_.resize(size_t(items_));
      for (int64_t i = 0; i < items_; ++i) order_[size_t(i)] = i;
      std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ULL + uint64_t(epoch));
      for (int64_t i = items_ - 1; i > 0; --i) {  // Fisher-Yates, independent of the library's shuffle
        const int64_t j = int64_t(rng() % uint64_t(i + 1));
        std::swap(order_[size_t(i)], order_[size_t(j)]);
      }
      epoch_ = epoch;
    }
    return order_[size_t(index)];
  }

 private:
  int64_t items_ = 0;
  uint64_t seed_ = 0;
  bool shuffle_ = true;
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;
};

// data.train_examples: which `count` of `total` items a reduced training set keeps, in file order:
// the first count of a permutation that depends on count alone, so every seed and every point of
// a sweep trains on the same items.
inline std::vector<int64_t> fixed_subset(int64_t total, int64_t count) {
  EpochOrder pick(total, 0x5EEDull + uint64_t(count));
  std::vector<int64_t> chosen;
  for (int64_t i = 0; i < count; ++i) chosen.push_back(pick.at(i));
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

}  // namespace qkv
