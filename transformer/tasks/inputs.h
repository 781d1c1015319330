// Model inputs of sentence and sentence-pair tasks for each family, and padding into batches.
// bert: [CLS] a [SEP] b [SEP] with segment ids 0 then 1 (Devlin et al. 2019, 3); gpt: <s> a <sep>
// b <cls>, GPT-1's start, delimiter and extract tokens (Radford et al. 2018, 3.3), the head
// reading the last. Pieces that do not fit are cut from the longer text first.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "transformer/config/config.h"
#include "transformer/text/tokenizer.h"

namespace qkv {

struct EncodedInput {
  std::vector<int64_t> ids, segments;
};

// b may be empty (a single sentence). max_len counts the special tokens.
EncodedInput encode_input(Family family, std::vector<int> a, std::vector<int> b, const SpecialTokens& special,
                          int64_t max_len);

// Cuts a and b, longest first, until together they hold at most `budget` pieces.
void truncate_pair(std::vector<int>& a, std::vector<int>& b, int64_t budget);

struct PaddedBatch {
  torch::Tensor tokens;    // (R, T) int64, padded with pad after the real tokens
  torch::Tensor keep;      // (R, T) bool
  torch::Tensor segments;  // (R, T) int64
  int64_t real_tokens = 0;
};
PaddedBatch pad_batch(const std::vector<const EncodedInput*>& rows, int64_t pad);

}  // namespace qkv
