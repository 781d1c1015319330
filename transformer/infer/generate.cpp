// Decoder-only generation.
#include "transformer/infer/generate.h"

#include "transformer/core/device.h"

namespace qkv {

std::vector<int64_t> generate(Model& model, const std::vector<int64_t>& prompt,
                              const GenerateOptions& options, torch::Generator& generator) {
  TORCH_CHECK(!prompt.empty(), "generation needs at least one prompt token");
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  const int64_t limit = model->max_positions();
  std::vector<int64_t> sequence = prompt, fresh;
  DecodeState state;
  const auto device = compute_device();
  torch::Tensor input = torch::tensor(prompt, torch::kLong).unsqueeze(0).to(device);  // (1, T)
  for (int64_t i = 0; i < options.max_new_tokens; ++i) {
    if (limit >= 0 && int64_t(sequence.size()) >= limit) break;
    torch::Tensor hidden;
    if (options.use_cache) {
      hidden = model->hidden(input, {}, {}, &state);  // (1, T_new, C)
    } else {
      hidden = model->hidden(torch::tensor(sequence, torch::kLong).unsqueeze(0).to(device));  // (1, T, C)
    }
    // (1, V), sampled on the CPU with the caller's generator
    auto logits = model->token_logits(hidden.select(1, hidden.size(1) - 1)).to(torch::kCPU);
    const int64_t next = choose_next(logits, options.sampling, generator, sequence).item<int64_t>();
    sequence.push_back(next);
    fresh.push_back(next);
    if (next == options.stop_token) break;
    input = torch::tensor({next}, torch::kLong).unsqueeze(0).to(device);  // (1, 1)
  }
  if (was_training) model->train();
  return fresh;
}

}  // namespace qkv
