// Greedy and filtered sampling.
#include "transformer/infer/sampling.h"

#include <limits>

namespace qkv {

torch::Tensor filter_logits(const torch::Tensor& logits, int64_t top_k, double top_p) {
  auto out = logits.to(torch::kFloat32).clone();  // (B, V)
  const double neg_inf = -std::numeric_limits<double>::infinity();
  if (top_k > 0 && top_k < out.size(-1)) {
    auto kth = std::get<0>(out.topk(top_k, -1)).select(-1, top_k - 1).unsqueeze(-1);  // (B, 1)
    out.masked_fill_(out < kth, neg_inf);
  }
  if (top_p < 1.0) {
    auto [sorted, order] = out.sort(-1, /*descending=*/true);  // (B, V)
    auto cumulative = torch::softmax(sorted, -1).cumsum(-1);
    // Drop a token when the tokens ranked above it already hold top_p of the mass; the first
    // token always stays.
    auto drop_sorted = (cumulative - torch::softmax(sorted, -1)) >= top_p;
    auto drop = torch::zeros_like(drop_sorted).scatter(-1, order, drop_sorted);
    out.masked_fill_(drop, neg_inf);
  }
  return out;
}

torch::Tensor choose_next(const torch::Tensor& logits, const SamplingOptions& options, torch::Generator& generator) {
  if (options.temperature <= 0.0) return logits.argmax(-1);
  auto filtered = filter_logits(logits, options.top_k, options.top_p) / options.temperature;
  auto probs = torch::softmax(filtered, -1);
  return torch::multinomial(probs, 1, false, generator).squeeze(-1);
}

}  // namespace qkv
