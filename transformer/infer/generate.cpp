// Decoder-only generation.
#include "transformer/infer/generate.h"

namespace qkv {

std::vector<int64_t> generate(TransformerModel& model, const std::vector<int64_t>& prompt,
                              const GenerateOptions& options, torch::Generator& generator) {
  TORCH_CHECK(!prompt.empty(), "generation needs at least one prompt token");
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  const int64_t limit = model->max_positions();
  std::vector<int64_t> sequence = prompt, fresh;
  DecodeState state;
  torch::Tensor input = torch::tensor(prompt, torch::kLong).unsqueeze(0);  // (1, T)
  for (int64_t i = 0; i < options.max_new_tokens; ++i) {
    if (limit >= 0 && int64_t(sequence.size()) >= limit) break;
    torch::Tensor hidden;
    if (options.use_cache) {
      hidden = model->hidden(input, {}, {}, &state);  // (1, T_new, C)
    } else {
      hidden = model->hidden(torch::tensor(sequence, torch::kLong).unsqueeze(0));  // (1, T, C)
    }
    auto logits = model->token_logits(hidden.select(1, hidden.size(1) - 1));  // (1, V)
    const int64_t next = choose_next(logits, options.sampling, generator).item<int64_t>();
    sequence.push_back(next);
    fresh.push_back(next);
    if (next == options.stop_token) break;
    input = torch::tensor({next}, torch::kLong).unsqueeze(0);  // (1, 1)
  }
  if (was_training) model->train();
  return fresh;
}

}  // namespace qkv
