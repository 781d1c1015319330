// The sequences of masked-LM pretraining, [CLS] a [SEP] b [SEP]: consecutive documents (lines)
// packed into two segments, a up to half the room and b the documents after it up to the rest.
// A split is either held in memory (sentence-pair data, small) or read from a prepared corpus
// through its document index: the packing depends on document lengths only, so it is computed
// once per sequence length from the index into SHARDDIR/pairs-LEN.bin and read back with pread,
// and a sequence's tokens are read from the shards when a batch needs them. Memory is a batch's,
// whatever the size of the corpus.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace qkv {

class TokenShards;

// The two segments of a masked-LM sequence before encoding; b empty for a single one.
struct TextPair {
  std::vector<int> a, b;
};

// Packs n documents of lengths length(i) into sequences of at most max_len tokens with [CLS] and
// two [SEP]: emit(a_begin, b_begin, end) for each, documents [a_begin, b_begin) forming a and
// [b_begin, end) forming b (empty when b_begin == end).
template <class Length, class Emit>
void pack_segments(int64_t n, int64_t max_len, Length length, Emit emit) {
  const int64_t room = max_len - 3;
  for (int64_t i = 0; i < n;) {
    const int64_t a_begin = i;
    int64_t a = length(i++);
    for (; i < n && a + length(i) <= room / 2; ++i) a += length(i);
    const int64_t b_begin = i;
    if (i < n && a < room) {
      int64_t b = length(i++);
      for (; i < n && a + b + length(i) <= room; ++i) b += length(i);
    }
    emit(a_begin, b_begin, i);
  }
}

class PairSplit {
 public:
  PairSplit() = default;
  explicit PairSplit(std::vector<TextPair> pairs);
  // The corpus's documents (each without its closing eos) packed for sequences of max_len.
  PairSplit(std::shared_ptr<TokenShards> shards, int64_t max_len);
  ~PairSplit();
  PairSplit(PairSplit&&) noexcept;
  PairSplit& operator=(PairSplit&&) noexcept;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool has_pairs() const { return with_b_ > 0; }  // whether any sequence has a b
  TextPair at(size_t row) const;

 private:
  std::vector<TextPair> pairs_;
  std::shared_ptr<TokenShards> shards_;
  int fd_ = -1;  // the packing file of a corpus
  size_t size_ = 0, with_b_ = 0;
};

}  // namespace qkv
