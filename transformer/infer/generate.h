// Autoregressive generation from a decoder-only model, with the per-layer KV cache (each step
// feeds one token) or without it (each step re-reads the whole sequence, for checks and benchmarks).
#pragma once

#include <torch/torch.h>

#include <vector>

#include "transformer/infer/sampling.h"
#include "transformer/models/model.h"

namespace qkv {

struct GenerateOptions {
  SamplingOptions sampling;
  int64_t max_new_tokens = 64;
  int64_t stop_token = -1;  // stop after emitting it; -1: never
  bool use_cache = true;
};

// prompt: token ids (at least one). Returns only the new tokens. Stops early at the model's
// largest position (learned positions).
std::vector<int64_t> generate(Model& model, const std::vector<int64_t>& prompt,
                              const GenerateOptions& options, torch::Generator& generator);

}  // namespace qkv
