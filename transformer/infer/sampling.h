// Next-token choice from logits, in Hugging Face's order of logits processors: a repetition
// penalty on the tokens already in the sequence (Keskar et al. 2019), then greedy, or temperature
// followed by top-k and top-p (nucleus, Holtzman et al. 2020) filtering of the tempered logits
// and sampling.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace qkv {

struct SamplingOptions {
  double temperature = 1.0;         // 0: greedy
  int64_t top_k = 0;                // 0: off
  double top_p = 1.0;               // 1: off
  double repetition_penalty = 1.0;  // 1: off; > 1 discourages tokens already in the sequence
};

// logits (B, V) -> logits with the filtered-out entries at -inf.
torch::Tensor filter_logits(const torch::Tensor& logits, int64_t top_k, double top_p);
// logits (B, V) with every id of `seen` penalised: a positive logit divided by `penalty`, a
// negative one multiplied by it (CTRL, Keskar et al. 2019, as Hugging Face applies it).
torch::Tensor penalize_repetition(const torch::Tensor& logits, const std::vector<int64_t>& seen, double penalty);
// logits (B, V) -> chosen ids (B) int64; `seen` is the sequence so far, for the repetition penalty.
torch::Tensor choose_next(const torch::Tensor& logits, const SamplingOptions& options, torch::Generator& generator,
                          const std::vector<int64_t>& seen = {});

}  // namespace qkv
