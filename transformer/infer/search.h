// Decoding for encoder-decoder models: greedy and beam search over a batch of source sentences.
// The source is encoded once; the decoder keeps its self-attention KV cache and, after the first
// step, cross-attention keys and values that are computed once per sentence and then only
// reordered with the beams. Hypotheses are ranked by log-probability divided by Wu et al.'s
// (2016, eq. 14) length penalty ((5 + |Y|) / 6)^alpha, |Y| counting </s>; a sentence's search
// ends when it holds `beam` finished hypotheses or reaches max_len_a * source length + max_len_b
// tokens. Plain beam search: its best can score below the greedy hypothesis, which it may prune.
//
// Letters: B sentences, K beam size, S source length, V vocabulary.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "transformer/models/model.h"

namespace qkv {

struct SearchOptions {
  int64_t beam = 4;
  double length_penalty = 0.6;  // alpha; 0 ranks by log-probability alone
  double max_len_a = 1.5;
  int64_t max_len_b = 10;
  bool use_cache = true;  // false: each step re-reads the whole prefix (checks, benchmarks)
};

struct Hypothesis {
  std::vector<int64_t> tokens;  // without <s>; ends with </s> unless cut at the length limit
  double log_prob = 0;          // sum of the tokens' log-probabilities
  double score = 0;             // log_prob / length_penalty(tokens.size())
};

double length_penalty(int64_t length, double alpha);

// source (B, S) int64, source_keep (B, S) bool or undefined. One hypothesis per sentence.
std::vector<Hypothesis> greedy_search(Model& model, const torch::Tensor& source, const torch::Tensor& source_keep,
                                      int64_t bos, int64_t eos, const SearchOptions& options);
std::vector<Hypothesis> beam_search(Model& model, const torch::Tensor& source, const torch::Tensor& source_keep,
                                    int64_t bos, int64_t eos, const SearchOptions& options);

}  // namespace qkv
